// The time scrubber's words and keys, as pure functions: how far back a moment is (`-2m14s`),
// its clock time, what a screen reader hears, and where a key moves the scrubber.

import type { Moment } from './history';

/** `-2m14s`, `-14s`, `-1h05m`; `now` within a second. */
export function formatOffset(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s === 0) return 'now';
  if (s < 60) return `-${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `-${m}m${String(s % 60).padStart(2, '0')}s`;
  return `-${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The clock time of a cluster instant, `14:03:21` (this machine's time zone). */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/**
 * The live clock, `14:03`: to the minute, so that it changes once a minute. Seconds would
 * repaint the scrubber every second, which on the crash-loop mission screen cost about one
 * percent of a core under software rendering, for a reading nothing on the screen needs.
 */
export function liveClock(ms: number): string {
  return clockTime(ms).slice(0, 5);
}

/** `2 minutes ago`, `14 seconds ago`, `just now`: words for the live region. */
export function spokenAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 2) return 'just now';
  if (s < 60) return `${s} seconds ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return m === 1 ? '1 minute ago' : `${m} minutes ago`;
  const h = Math.floor(m / 60);
  return h === 1 ? 'over an hour ago' : `over ${h} hours ago`;
}

/** What the live region says for the change at `at`: `Viewing 14:03:21, 2 minutes ago: pod web stuck at Image pulled`. */
export function viewingLabel(at: number, now: number, what: string): string {
  return `Viewing ${clockTime(at)}, ${spokenAgo(now - at)}: ${what}`;
}

/**
 * Where a key moves the scrubber from `position` in a history of `length` changes: a new
 * index, `'live'` (End, Escape, or stepping onto the newest change), or null when the key is
 * not the scrubber's. PageUp moves forward in time, as it raises an ARIA slider's value.
 */
export function keyTarget(key: string, position: number, length: number): number | 'live' | null {
  const last = length - 1;
  const to = (i: number) => {
    const clamped = Math.min(Math.max(0, i), Math.max(0, last));
    return clamped >= last ? 'live' : clamped;
  };
  switch (key) {
    case 'ArrowLeft':
    case 'ArrowDown':
      return to(position - 1);
    case 'ArrowRight':
    case 'ArrowUp':
      return to(position + 1);
    case 'PageDown':
      return to(position - 10);
    case 'PageUp':
      return to(position + 10);
    case 'Home':
      return last > 0 ? 0 : 'live';
    case 'End':
    case 'Escape':
      return 'live';
    default:
      return null;
  }
}

/** The nearest moment before (`-1`) or after (`1`) `position`, or null. */
export function nearMoment(moments: readonly Moment[], position: number, direction: -1 | 1): Moment | null {
  let found: Moment | null = null;
  for (const m of moments) {
    if (direction < 0 && m.index < position) found = m;
    if (direction > 0 && m.index > position) return m;
  }
  return found;
}

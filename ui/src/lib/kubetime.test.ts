import { describe, expect, it } from 'vitest';
import { age, countdown, eventAge, formatElapsed, humanDuration, sortEvents } from './kubetime';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

describe('humanDuration (apimachinery duration.HumanDuration)', () => {
  it.each([
    [-3 * s, '<invalid>'],
    [-1500, '0s'],
    [-500, '0s'],
    [0, '0s'],
    [10 * s, '10s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [2 * m + 30 * s, '2m30s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [7 * h + 59 * m, '7h59m'],
    [8 * h + 30 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [3 * d + 4 * h, '3d4h'],
    [8 * d, '8d'],
    [729 * d, '729d'],
    [2 * 365 * d, '2y'],
    [3 * 365 * d + 10 * d, '3y10d'],
    [9 * 365 * d, '9y'],
  ])('%d ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('event ages as kubectl describe prints them', () => {
  const now = Date.parse('2025-01-01T00:10:00Z');
  it('a single event shows its age', () => {
    expect(eventAge({ count: 1, firstSeen: '2025-01-01T00:09:48Z', lastSeen: '2025-01-01T00:09:48Z' }, now)).toBe('12s');
  });
  it('a repeated event shows last seen, the count and the span since the first', () => {
    expect(eventAge({ count: 4, firstSeen: '2025-01-01T00:08:00Z', lastSeen: '2025-01-01T00:09:57Z' }, now)).toBe(
      '3s (x4 over 2m)',
    );
    expect(eventAge({ count: 12, firstSeen: '2025-01-01T00:07:30Z', lastSeen: '2025-01-01T00:10:00Z' }, now)).toBe(
      '0s (x12 over 2m30s)',
    );
  });
  it('a missing time is <unknown>, like translateTimestampSince', () => {
    expect(age(null, now)).toBe('<unknown>');
    expect(age('not a time', now)).toBe('<unknown>');
    expect(eventAge({ count: 2, firstSeen: null, lastSeen: null }, now)).toBe('<unknown> (x2 over <unknown>)');
  });
  it('sorts by last seen, oldest first, keeping ties in arrival order', () => {
    const rows = [
      { id: 'b', firstSeen: null, lastSeen: '2025-01-01T00:09:00Z', lastTimestamp: '2025-01-01T00:09:00Z' },
      { id: 'a', firstSeen: null, lastSeen: '2025-01-01T00:08:00Z', lastTimestamp: '2025-01-01T00:08:00Z' },
      { id: 'c', firstSeen: null, lastSeen: '2025-01-01T00:09:00Z', lastTimestamp: '2025-01-01T00:09:00Z' },
    ];
    expect(sortEvents(rows).map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });
  it('orders like kubectl describe: by lastTimestamp only, the scheduler event (none) first, ties as the server sent them', () => {
    // The scheduler's event carries only eventTime (here later than the kubelet's second-
    // precision lastTimestamps); describe still lists it first. Pulling and Pulled share a second.
    const row = (reason: string, lastSeen: string, lastTimestamp: string | null) => ({ reason, lastSeen, lastTimestamp });
    const scheduled = row('Scheduled', '2025-01-01T00:09:00.400Z', null);
    const pulling = row('Pulling', '2025-01-01T00:09:00Z', '2025-01-01T00:09:00Z');
    const pulled = row('Pulled', '2025-01-01T00:09:00Z', '2025-01-01T00:09:00Z');
    const created = row('Created', '2025-01-01T00:09:00Z', '2025-01-01T00:09:00Z');
    const started = row('Started', '2025-01-01T00:09:01Z', '2025-01-01T00:09:01Z');
    const rows = [pulled, created, scheduled, started];
    const server = [scheduled, pulling, pulled, created, started];
    expect(sortEvents(server).map((r) => r.reason), 'describe order for the server order').toEqual([
      'Scheduled',
      'Pulling',
      'Pulled',
      'Created',
      'Started',
    ]);
    expect(sortEvents(rows)[0]?.reason, 'an event without lastTimestamp sorts as the zero time').toBe('Scheduled');
  });
});

describe('countdown to the next retry', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('rounds up to whole seconds and says now when due', () => {
    expect(countdown('2025-01-01T00:00:06.200Z', now)).toEqual({ seconds: 7, text: '7s', due: false });
    expect(countdown('2025-01-01T00:01:05Z', now)).toEqual({ seconds: 65, text: '1m 05s', due: false });
    expect(countdown('2025-01-01T00:05:00Z', now)?.text).toBe('5m 00s');
    expect(countdown('2024-12-31T23:59:50Z', now)).toEqual({ seconds: 0, text: 'now', due: true });
  });
  it('is absent without a time', () => {
    expect(countdown(null, now)).toBeNull();
  });
});

describe('formatElapsed', () => {
  it.each([
    [45, '45s'],
    [252, '4m 12s'],
    [3720, '1h 02m'],
  ])('%d s → %s', (secs, text) => expect(formatElapsed(secs)).toBe(text));
});

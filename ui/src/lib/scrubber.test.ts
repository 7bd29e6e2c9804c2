import { describe, expect, it } from 'vitest';
import type { Moment } from './history';
import { clockTime, formatOffset, keyTarget, liveClock, nearMoment, spokenAgo, viewingLabel } from './scrubber';

describe('the scrubber’s words', () => {
  it('says how far back a change is, like a timeline', () => {
    expect(formatOffset(0)).toBe('now');
    expect(formatOffset(400)).toBe('now');
    expect(formatOffset(14_000)).toBe('-14s');
    expect(formatOffset(134_000)).toBe('-2m14s');
    expect(formatOffset(60_000)).toBe('-1m00s');
    expect(formatOffset(3_900_000)).toBe('-1h05m');
    expect(formatOffset(-5000)).toBe('now');
  });

  it('reads the clock time and the distance in words', () => {
    const at = new Date(2025, 2, 1, 14, 3, 21).getTime();
    expect(clockTime(at)).toBe('14:03:21');
    expect(liveClock(at)).toBe('14:03');
    expect(liveClock(new Date(2025, 2, 1, 9, 7, 59).getTime())).toBe('09:07');
    expect(spokenAgo(1000)).toBe('just now');
    expect(spokenAgo(14_000)).toBe('14 seconds ago');
    expect(spokenAgo(61_000)).toBe('1 minute ago');
    expect(spokenAgo(134_000)).toBe('2 minutes ago');
    expect(spokenAgo(7_300_000)).toBe('over 2 hours ago');
    expect(viewingLabel(at, at + 134_000, 'pod web stuck at Image pulled')).toBe(
      'Viewing 14:03:21, 2 minutes ago: pod web stuck at Image pulled',
    );
  });
});

describe('keyTarget', () => {
  it('steps one change, ten, to either end, and back to live', () => {
    expect(keyTarget('ArrowLeft', 20, 30)).toBe(19);
    expect(keyTarget('ArrowRight', 20, 30)).toBe(21);
    expect(keyTarget('ArrowRight', 28, 30)).toBe('live');
    expect(keyTarget('PageDown', 20, 30)).toBe(10);
    expect(keyTarget('PageDown', 4, 30)).toBe(0);
    expect(keyTarget('PageUp', 5, 30)).toBe(15);
    expect(keyTarget('PageUp', 25, 30)).toBe('live');
    expect(keyTarget('Home', 20, 30)).toBe(0);
    expect(keyTarget('End', 3, 30)).toBe('live');
    expect(keyTarget('Escape', 3, 30)).toBe('live');
    expect(keyTarget('ArrowLeft', 0, 30)).toBe(0);
    expect(keyTarget('a', 3, 30)).toBeNull();
    expect(keyTarget('Tab', 3, 30)).toBeNull();
  });
});

describe('nearMoment', () => {
  const moments: Moment[] = [
    { index: 2, at: 0, kind: 'stuck', label: 'a' },
    { index: 9, at: 0, kind: 'objective', label: 'b' },
    { index: 12, at: 0, kind: 'solved', label: 'c' },
  ];
  it('finds the moment before and after a position', () => {
    expect(nearMoment(moments, 9, -1)?.index).toBe(2);
    expect(nearMoment(moments, 9, 1)?.index).toBe(12);
    expect(nearMoment(moments, 2, -1)).toBeNull();
    expect(nearMoment(moments, 12, 1)).toBeNull();
    expect(nearMoment(moments, 20, -1)?.index).toBe(12);
  });
});

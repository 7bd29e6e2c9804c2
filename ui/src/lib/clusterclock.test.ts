import { describe, expect, it } from 'vitest';
import { clusterNow, clusterTime, syncClock } from './clusterclock';
import { age, countdown, eventAge } from './kubetime';
import { eventLine } from './pipeline';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Fake local clocks: `monotonic` starts at an arbitrary offset, the wall clock at T0. */
function fakeClocks() {
  let elapsed = 0;
  const clocks = {
    monotonic: () => 5_000 + elapsed,
    wall: () => T0 + elapsed,
    advance(ms: number) {
      elapsed += ms;
    },
  };
  return clocks;
}

describe('syncClock', () => {
  it('reads RFC 3339 with milliseconds', () => {
    expect(syncClock({ now: '2025-03-01T10:00:00.250Z', speed: 8 }, 42)).toEqual({
      clusterMs: T0 + 250,
      speed: 8,
      receivedAt: 42,
    });
  });

  it('refuses what it cannot extrapolate with', () => {
    expect(syncClock(null, 0)).toBeNull();
    expect(syncClock(undefined, 0)).toBeNull();
    expect(syncClock({ now: 'yesterday', speed: 1 }, 0)).toBeNull();
    expect(syncClock({ now: iso(T0), speed: Number.NaN }, 0)).toBeNull();
    expect(syncClock({ now: iso(T0), speed: -1 }, 0)).toBeNull();
  });
});

describe('clusterNow', () => {
  it('falls back to the wall clock without a reading', () => {
    expect(clusterNow(null, 123, T0)).toBe(T0);
  });

  it('does not go back when the local time seems to', () => {
    const sync = { clusterMs: T0, speed: 8, receivedAt: 1_000 };
    expect(clusterNow(sync, 500, 0)).toBe(T0);
  });

  it('stands still on a paused clock', () => {
    expect(clusterNow({ clusterMs: T0, speed: 0, receivedAt: 0 }, 60_000, 0)).toBe(T0);
  });
});

describe('clusterTime', () => {
  it('at speed 1 follows real time from the reading', () => {
    const c = fakeClocks();
    const clock = clusterTime(c.monotonic, c.wall);
    // The cluster's clock is 300 ms ahead of this machine's: the reading wins.
    clock.sync({ now: iso(T0 + 300), speed: 1 });
    expect(clock.now()).toBe(T0 + 300);
    c.advance(10_000);
    expect(clock.now()).toBe(T0 + 10_300);
    expect(clock.speed()).toBe(1);
  });

  it('at speed 8 runs eight times as fast, so fresh cluster timestamps are never in the future', () => {
    const c = fakeClocks();
    const clock = clusterTime(c.monotonic, c.wall);
    // The cluster has been running at 8× for a while: it is 10 minutes ahead of the wall clock.
    const clusterStart = T0 + 10 * 60_000;
    clock.sync({ now: iso(clusterStart), speed: 8 });
    c.advance(15_000); // 15 real seconds = 2 cluster minutes
    expect(clock.now()).toBe(clusterStart + 120_000);

    // An event the cluster stamped 90 cluster-seconds after the reading is 30 s old…
    const lastSeen = iso(clusterStart + 90_000);
    expect(age(lastSeen, clock.now())).toBe('30s');
    // …while the wall clock would put it in the future.
    expect(age(lastSeen, c.wall())).toBe('<invalid>');

    // A back-off due 5 cluster minutes after the reading is 3 minutes away.
    expect(countdown(iso(clusterStart + 300_000), clock.now())?.text).toBe('3m 00s');
  });

  it('follows a speed change from the moment of the new reading', () => {
    const c = fakeClocks();
    const clock = clusterTime(c.monotonic, c.wall);
    clock.sync({ now: iso(T0), speed: 1 });
    c.advance(10_000);
    expect(clock.now()).toBe(T0 + 10_000);

    // The learner picks 8× in Settings: the app sends the clock at the moment of the change.
    clock.sync({ now: iso(T0 + 10_000), speed: 8 });
    c.advance(5_000);
    expect(clock.now()).toBe(T0 + 10_000 + 40_000);
    expect(clock.speed()).toBe(8);

    // And back to 1×.
    clock.sync({ now: iso(T0 + 50_000), speed: 1 });
    c.advance(2_000);
    expect(clock.now()).toBe(T0 + 52_000);
  });

  it('uses the wall clock before any reading and keeps the last good one after a bad one', () => {
    const c = fakeClocks();
    const clock = clusterTime(c.monotonic, c.wall);
    expect(clock.now()).toBe(T0);
    expect(clock.speed()).toBe(1);
    clock.sync({ now: iso(T0 + 60_000), speed: 4 });
    clock.sync({ now: 'garbage', speed: 4 });
    c.advance(1_000);
    expect(clock.now()).toBe(T0 + 64_000);
  });
});

describe('ages at speeds above 1x', () => {
  it('never shows <invalid> for a timestamp the cluster just wrote, even when the estimate lags', () => {
    const clocks = fakeClocks();
    const cluster = clusterTime(clocks.monotonic, clocks.wall);
    cluster.sync({ now: iso(T0), speed: 6 });
    clocks.advance(1000);
    // The estimate says T0 + 6 s; the cluster (its clock a little ahead of the estimate, as
    // happens between two readings at 6x) stamped an event at T0 + 10 s, repeated 6 times.
    const stamp = iso(T0 + 10_000);
    expect(age(stamp, cluster.now()), 'the lagging estimate alone would call it the future').toBe('<invalid>');
    cluster.observe(stamp);
    const line = eventLine({ type: 'Warning', reason: 'BackOff', message: 'Back-off pulling image', count: 6, lastSeen: stamp }, cluster.now());
    expect(line, 'the rail reads like kubectl, never "(x6, <invalid> ago)"').toBe('Warning BackOff (x6, 0s ago): Back-off pulling image');
    expect(eventAge({ count: 6, firstSeen: iso(T0 - 60_000), lastSeen: stamp }, cluster.now())).toBe('0s (x6 over 70s)');
    // Time keeps moving from there at 6x, and the next reading is exact again.
    clocks.advance(1000);
    expect(age(stamp, cluster.now())).toBe('2s');
    cluster.sync({ now: iso(T0 + 30_000), speed: 6 });
    expect(cluster.now()).toBe(T0 + 30_000);
  });

  it('ignores what is not a time', () => {
    const clocks = fakeClocks();
    const cluster = clusterTime(clocks.monotonic, clocks.wall);
    cluster.sync({ now: iso(T0), speed: 6 });
    cluster.observe(null);
    cluster.observe('soon');
    expect(cluster.now()).toBe(T0);
  });
});

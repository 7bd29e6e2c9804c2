// The cluster's "now", for ages and countdowns.
//
// The embedded cluster's clock can run faster than real time (Settings → speed), so its
// timestamps run ahead of this machine's clock: an age computed against `Date.now()` would be
// negative (`<invalid>`) and a countdown wrong. The app sends the cluster's clock with every
// mission start and reset and again on the session's stream (`SessionUpdate` `clock`) when the
// speed changes and every 30 s; between two readings the cluster's time is extrapolated:
//
//   cluster now = clock.now + (local time elapsed since it arrived) × clock.speed
//
// Elapsed time is measured with a monotonic source (`performance.now()`), so changing this
// machine's clock does not move the estimate. Without a usable reading the wall clock stands in
// (a real cluster's clock is the wall clock at speed 1 anyway).
//
// The estimate can still fall a little behind (timers, the two clocks drifting between
// readings, a sped-up cluster): then a timestamp the cluster just wrote looks like it is in the
// future and its age reads `<invalid>`, which kubectl prints only for a clock that is really
// wrong. Nothing the cluster wrote can be later than the cluster's now, so `observe` records
// each timestamp the app receives and `now` never answers less than the latest one (until the
// next reading, which is exact).

import type { ClusterClock } from './bindings/ClusterClock';

/** A reading of the cluster's clock and the local monotonic time it arrived at. */
export interface ClockSync {
  /** The cluster's time at receipt, in epoch milliseconds. */
  clusterMs: number;
  /** Cluster milliseconds per local millisecond. */
  speed: number;
  /** `performance.now()` (or any monotonic milliseconds) when it arrived. */
  receivedAt: number;
}

/** Reads `clock` as received at `receivedAt`; `null` when it is missing or malformed. */
export function syncClock(clock: ClusterClock | null | undefined, receivedAt: number): ClockSync | null {
  if (!clock || typeof clock.now !== 'string') return null;
  const clusterMs = Date.parse(clock.now);
  const speed = clock.speed;
  if (!Number.isFinite(clusterMs) || typeof speed !== 'number' || !Number.isFinite(speed) || speed < 0) return null;
  return { clusterMs, speed, receivedAt };
}

/** The cluster's time at local monotonic time `at`; `fallback` (the wall clock) without a reading. */
export function clusterNow(sync: ClockSync | null, at: number, fallback: number): number {
  if (!sync) return fallback;
  // A monotonic source never goes back; if it seems to, count no time as passed.
  const elapsed = Math.max(0, at - sync.receivedAt);
  return sync.clusterMs + elapsed * sync.speed;
}

export interface ClusterTime {
  /** Takes a new reading (a start, a reset, a `clock` update); a malformed one is ignored. */
  sync(clock: ClusterClock | null | undefined): void;
  /** A timestamp the cluster wrote (RFC 3339): the cluster's now is at least that. */
  observe(stamp: string | null | undefined): void;
  /** The cluster's time now, in epoch milliseconds. */
  now(): number;
  /** The speed of the last reading (1 before any). */
  speed(): number;
}

/** The cluster's clock as last heard, on the given local clocks (tests pass fake ones). */
export function clusterTime(
  monotonic: () => number = () => performance.now(),
  wall: () => number = () => Date.now(),
): ClusterTime {
  let last: ClockSync | null = null;
  /** The latest timestamp observed since the last reading, in epoch milliseconds. */
  let floor = Number.NEGATIVE_INFINITY;
  return {
    sync(clock) {
      const next = syncClock(clock, monotonic());
      if (next) {
        last = next;
        floor = Number.NEGATIVE_INFINITY;
      }
    },
    observe(stamp) {
      const ms = stamp ? Date.parse(stamp) : Number.NaN;
      if (Number.isFinite(ms)) floor = Math.max(floor, ms);
    },
    now: () => Math.max(clusterNow(last, monotonic(), wall()), floor),
    speed: () => last?.speed ?? 1,
  };
}

import { describe, expect, it } from 'vitest';
import type { EventRow } from './bindings/EventRow';
import type { SessionUpdate } from './bindings/SessionUpdate';
import { BYTES_PER_JSON_CHAR, ENTRY_OVERHEAD, SessionHistory, estimateBytes } from './history';
import { pipeline } from './pipelines.test-helpers';
import { applyUpdate, initialSession, type SessionState } from './session';

/** The few Node built-ins the heap measurement needs (the UI's types do not include Node's). */
interface NodeProcess {
  memoryUsage(): { heapUsed: number };
  getBuiltinModule(id: 'node:v8'): { setFlagsFromString(flags: string): void };
  getBuiltinModule(id: 'node:vm'): { runInNewContext(code: string): unknown };
}
const node = (globalThis as unknown as { process: NodeProcess }).process;

const T0 = Date.parse('2025-03-01T10:00:00Z');

const event = (i: number): EventRow => ({
  type: i % 3 === 0 ? 'Warning' : 'Normal',
  reason: i % 3 === 0 ? 'Failed' : 'Pulling',
  message: `Pulling image "nginx:nonexistent-tag-xyz-123" (attempt ${i})`,
  count: 1 + (i % 7),
  firstSeen: new Date(T0 + i * 1000).toISOString(),
  lastSeen: new Date(T0 + i * 1000).toISOString(),
  lastTimestamp: new Date(T0 + i * 1000).toISOString(),
  from: 'kubelet',
  object: 'pod/web',
  container: 'web',
});

const stuck = (pod = 'web', uid = 'uid-1'): SessionUpdate => ({
  kind: 'pipeline',
  change: { change: 'upserted', pipeline: pipeline('pulled', 'stuck', { pod, uid, status: 'ImagePullBackOff' }) },
});
const ready = (pod = 'web', uid = 'uid-1'): SessionUpdate => ({
  kind: 'pipeline',
  change: { change: 'upserted', pipeline: pipeline(null, 'done', { pod, uid, status: 'Running', ready: '1/1' }) },
});
const objectives = (met: boolean): SessionUpdate => ({
  kind: 'objectives',
  results: [{ id: 'web-ready', title: '`web` is Running and Ready', status: met ? 'met' : 'not-met', reason: met ? 'ok' : 'Pending' }],
  allMet: met,
});
const solved: SessionUpdate = {
  kind: 'solved',
  debriefHtml: '<h1>Debrief</h1>',
  debrief: null,
  progress: { status: 'solved', attempts: 1, hintsUsed: 0, startedAt: null, solvedAt: null, timeToFixSeconds: 60 },
  next: null,
  progressError: null,
};

/** A varied stream: pods stuck and moving, growing event lists, objectives. */
function stream(n: number): SessionUpdate[] {
  const out: SessionUpdate[] = [];
  for (let i = 0; i < n; i++) {
    const pod = `web-${i % 5}`;
    switch (i % 4) {
      case 0:
        out.push(stuck(pod, `uid-${i % 5}`));
        break;
      case 1:
        out.push({ kind: 'events', events: Array.from({ length: 1 + (i % 20) }, (_, k) => event(i + k)) });
        break;
      case 2:
        out.push(ready(pod, `uid-${i % 5}`));
        break;
      default:
        out.push(objectives(i % 8 === 3));
    }
  }
  return out;
}

/** Applies and records every update the way the mission screen does; returns the live state. */
function feed(history: SessionHistory, updates: SessionUpdate[], start = initialSession()): SessionState[] {
  const states: SessionState[] = [];
  let s = start;
  updates.forEach((u, i) => {
    s = applyUpdate(s, u).state;
    history.record(u, s, T0 + i * 1000);
    states.push(s);
  });
  return states;
}

describe('SessionHistory', () => {
  it('keeps each applied update with its cluster time, wall time and resulting state', () => {
    let wall = 5_000;
    const h = new SessionHistory({ wall: () => wall++ });
    expect(h.length).toBe(0);
    expect(h.startsAt()).toBeNull();
    expect(h.indexAtTime(T0)).toBe(-1);
    const states = feed(h, [stuck(), objectives(false), ready(), objectives(true)]);
    expect(h.length).toBe(4);
    expect(h.stateAt(0)).toBe(states[0]);
    expect(h.stateAt(3)).toBe(states[3]);
    expect(h.entry(1).wall).toBe(5_001);
    expect(h.timeAt(2)).toBe(T0 + 2000);
    expect(h.startsAt()).toBe(T0);
    // Out-of-range indexes are clamped, never undefined.
    expect(h.stateAt(-4)).toBe(states[0]);
    expect(h.stateAt(99)).toBe(states[3]);
  });

  it('stateAt(i) equals the fold of the updates up to i, also after the oldest were dropped', () => {
    const updates = stream(600);
    const h = new SessionHistory({ maxEntries: 150 });
    feed(h, updates);
    expect(h.length).toBe(150);
    expect(h.dropped).toBe(450);
    for (const i of [0, 1, 75, 149]) {
      let s = initialSession();
      for (const u of updates.slice(0, 450 + i + 1)) s = applyUpdate(s, u).state;
      expect(h.stateAt(i)).toEqual(s);
    }
    // The history now starts at the 451st change's time.
    expect(h.startsAt()).toBe(T0 + 450 * 1000);
  });

  it('is bounded by entries and by estimated bytes, keeping the newest', () => {
    const byCount = new SessionHistory({ maxEntries: 10 });
    const dropped = feed(byCount, stream(25)).length;
    expect(dropped).toBe(25);
    expect(byCount.length).toBe(10);
    expect(byCount.dropped).toBe(15);

    const big: SessionUpdate = { kind: 'events', events: Array.from({ length: 200 }, (_, k) => event(k)) };
    const one = estimateBytes(big);
    const byBytes = new SessionHistory({ maxEntries: 1000, maxBytes: one * 5 + 10 });
    let s = initialSession();
    let droppedTotal = 0;
    for (let i = 0; i < 12; i++) {
      s = applyUpdate(s, big).state;
      droppedTotal += byBytes.record(big, s, T0 + i);
    }
    expect(byBytes.length).toBe(5);
    expect(droppedTotal).toBe(7);
    expect(byBytes.bytes).toBeLessThanOrEqual(byBytes.maxBytes);

    // One update bigger than the whole bound is still kept: the present is never lost.
    const tiny = new SessionHistory({ maxBytes: 10 });
    tiny.record(big, applyUpdate(initialSession(), big).state, T0);
    tiny.record(big, applyUpdate(initialSession(), big).state, T0 + 1);
    expect(tiny.length).toBe(1);
    expect(tiny.timeAt(0)).toBe(T0 + 1);
  });

  it('finds the change at a cluster time; times never go backwards', () => {
    const h = new SessionHistory();
    let s = initialSession();
    const times = [T0, T0 + 1000, T0 + 500 /* a late clock reading */, T0 + 4000];
    times.forEach((t, i) => {
      const u = i % 2 ? objectives(false) : stuck();
      s = applyUpdate(s, u).state;
      h.record(u, s, t);
    });
    expect([0, 1, 2, 3].map((i) => h.timeAt(i))).toEqual([T0, T0 + 1000, T0 + 1000, T0 + 4000]);
    expect(h.indexAtTime(T0 - 1)).toBe(0);
    expect(h.indexAtTime(T0 + 999)).toBe(0);
    expect(h.indexAtTime(T0 + 1000)).toBe(2);
    expect(h.indexAtTime(T0 + 3999)).toBe(2);
    expect(h.indexAtTime(T0 + 10_000)).toBe(3);
  });

  it('marks notable moments: a pod stuck, an objective met, a pod ready, the solve', () => {
    const h = new SessionHistory();
    feed(h, [
      stuck(),
      { kind: 'events', events: [event(1)] },
      stuck(), // still stuck at the same place: no new moment
      objectives(false),
      ready(),
      objectives(true),
      solved,
      { kind: 'events', events: [event(1), event(2)] },
    ]);
    expect(h.moments().map((m) => [m.index, m.kind, m.label])).toEqual([
      [0, 'stuck', 'pod web stuck at Image pulled'],
      [4, 'ready', 'pod web ready'],
      [5, 'objective', 'objective met: web is Running and Ready'],
      [6, 'solved', 'mission solved: the fix landed'],
    ]);
    expect(h.lastMoment('solved')?.index).toBe(6);
    expect(h.describe(0)).toBe('pod web stuck at Image pulled');
    expect(h.describe(1)).toBe('event Pulling on pod/web');
    expect(h.describe(3)).toBe('objectives: 0 of 1 met');

    // Moments move with the history when the oldest entries go.
    const small = new SessionHistory({ maxEntries: 3 });
    feed(small, [stuck(), objectives(false), ready(), objectives(true), solved]);
    expect(small.moments().map((m) => [m.index, m.kind])).toEqual([
      [0, 'ready'],
      [1, 'objective'],
      [2, 'solved'],
    ]);
    small.clear();
    expect(small.length).toBe(0);
    expect(small.moments()).toEqual([]);
    expect(small.lastMoment('solved')).toBeNull();
    expect(small.dropped).toBe(0);
  });

  it('stays within its bounds over 10,000 updates, and the heap it retains stays under the estimate', () => {
    node.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
    const gc = node.getBuiltinModule('node:vm').runInNewContext('gc') as () => void;
    // The updates arrive as JSON over the channel: decode them one by one inside the measured
    // span, so only what the history keeps survives.
    const wire = stream(10_000).map((u) => JSON.stringify(u));
    const settle = () => {
      for (let k = 0; k < 4; k++) gc();
    };
    const h = new SessionHistory({ maxEntries: 2000, maxBytes: 8 * 1024 * 1024 });
    let s = initialSession();
    wire.forEach((text, i) => {
      const u = JSON.parse(text) as SessionUpdate;
      s = applyUpdate(s, u).state;
      h.record(u, s, T0 + i * 1000);
    });
    // What the history retains: the heap with it, less the heap once it is cleared (the live
    // state and everything else stay alive across both readings).
    settle();
    const kept = node.memoryUsage().heapUsed;
    const summary = { length: h.length, bytes: h.bytes, dropped: h.dropped };
    h.clear();
    settle();
    const retained = kept - node.memoryUsage().heapUsed;
    expect(wire.length + s.pods.length).toBeGreaterThan(0);

    expect(summary.length).toBeLessThanOrEqual(2000);
    expect(summary.bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(summary.dropped).toBe(10_000 - summary.length);
    const chars = (summary.bytes - summary.length * ENTRY_OVERHEAD) / BYTES_PER_JSON_CHAR;
    console.info(
      `history: ${summary.length} entries, estimated ${(summary.bytes / 1024 / 1024).toFixed(2)} MB, retained heap ${(retained / 1024 / 1024).toFixed(2)} MB (${(retained / chars).toFixed(2)} bytes per JSON character)`,
    );
    // The estimate is an upper bound on what is really kept (with slack for the GC's noise).
    expect(retained).toBeGreaterThan(0);
    expect(retained).toBeLessThan(summary.bytes * 1.1 + 512 * 1024);
  });
});

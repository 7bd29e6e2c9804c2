// The session's recent past, for the time scrubber: every SessionUpdate the mission screen
// applied, with the cluster time it happened at and the state it produced, so the learner can
// go back and see the rails, the events and the graph as they were.
//
// Storage relies on structural sharing. `applyUpdate` returns a new SessionState that keeps
// every part the update did not touch (the events array when a pod changed, the other pods'
// entries, the graph…), and the parts it does make are mostly the update's own payload. So an
// entry's snapshot costs about what its update costs, a full snapshot per entry reads back in
// O(1), and `stateAt(i)` is exactly the fold of the updates up to `i` (the test checks it).
// Measured (history.test.ts, "retained heap"): after 10,000 updates the 2,000 entries kept
// retain about 4.25 MB of heap, under their estimate (about 6 MB); a deep copy of the state
// per entry instead (structuredClone) keeps about eight times as much (34 MB against 4.2 MB
// for the same 2,000 entries of pods and event lists).
//
// The history is bounded twice: by entries and by an estimate of the bytes they hold (the
// update's JSON length, times a factor for the engine's objects). When either bound is
// passed, the oldest entries go, and `dropped`/`startsAt()` say where the history now begins.

import type { SessionUpdate } from './bindings/SessionUpdate';
import { podKey, railView } from './pipeline';
import type { SessionState } from './session';

export type MomentKind = 'stuck' | 'ready' | 'objective' | 'solved' | 'lost';

/** A change worth a tick mark on the scrubber. */
export interface Moment {
  /** Index in the history as it stands now. */
  index: number;
  /** Cluster time, epoch milliseconds. */
  at: number;
  kind: MomentKind;
  /** `pod web stuck at Image pulled: ImagePullBackOff`, `mission solved`. */
  label: string;
}

export interface HistoryEntry {
  update: SessionUpdate;
  /** The state once the update was applied. */
  state: SessionState;
  /** Cluster time (epoch ms) when it arrived; never less than the entry before. */
  at: number;
  /** This machine's wall time (epoch ms) when it arrived. */
  wall: number;
  /** Estimated bytes the entry keeps alive. */
  bytes: number;
  /** What this change was, in a few words. */
  summary: string;
  /** Notable moments this change made (usually none, sometimes several). */
  moments: { kind: MomentKind; label: string }[];
}

export interface HistoryOptions {
  /** Most entries kept (2,000). */
  maxEntries?: number;
  /** Most estimated bytes kept (8 MB). */
  maxBytes?: number;
  /** This machine's clock (tests pass a fake one). */
  wall?: () => number;
}

/** Per entry: the arrays and objects of the entry and its state, beyond the payload. */
export const ENTRY_OVERHEAD = 300;
/**
 * The heap a decoded update keeps alive, per character of its JSON text. Measured with the
 * "retained heap" test (Node 20's V8, payloads decoded with JSON.parse as the IPC does): 2,000
 * entries of pods, event lists and objectives keep about 4.25 MB for 2.7 M characters of JSON,
 * about 1.6 bytes a character with the entries' own objects; 2 leaves room for payloads with
 * more structure than text (the graph) and keeps the estimate an upper bound.
 */
export const BYTES_PER_JSON_CHAR = 2;

/** The estimated bytes an update keeps alive once recorded. */
export function estimateBytes(update: SessionUpdate): number {
  let chars = 0;
  try {
    chars = JSON.stringify(update)?.length ?? 0;
  } catch {
    chars = 1024;
  }
  return Math.ceil(ENTRY_OVERHEAD + chars * BYTES_PER_JSON_CHAR);
}

export class SessionHistory {
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly wall: () => number;
  private entries: HistoryEntry[] = [];
  /** Index of the first live entry in `entries` (dropping shifts lazily, in batches). */
  private head = 0;
  private total = 0;
  /** How many entries were dropped since the last `clear()`. */
  dropped = 0;

  constructor(options: HistoryOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 2000);
    this.maxBytes = Math.max(1, options.maxBytes ?? 8 * 1024 * 1024);
    this.wall = options.wall ?? (() => Date.now());
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  /** The estimated bytes held. */
  get bytes(): number {
    return this.total;
  }

  /**
   * Records `update`, which produced `state`, at cluster time `at` (epoch ms). Returns how many
   * of the oldest entries were dropped to stay in bounds, so a caller holding an index can
   * move it.
   */
  record(update: SessionUpdate, state: SessionState, at: number): number {
    const previous = this.length > 0 ? this.entry(this.length - 1) : null;
    const when = Number.isFinite(at) ? at : (previous?.at ?? this.wall());
    const entry: HistoryEntry = {
      update,
      state,
      at: previous ? Math.max(previous.at, when) : when,
      wall: this.wall(),
      bytes: estimateBytes(update),
      summary: summarize(update),
      moments: momentsOf(previous?.state ?? null, update, state),
    };
    this.entries.push(entry);
    this.total += entry.bytes;
    let dropped = 0;
    // Always keep the newest entry, even if it alone is over the byte bound.
    while (this.length > 1 && (this.length > this.maxEntries || this.total > this.maxBytes)) {
      const gone = this.entries[this.head];
      this.total -= gone?.bytes ?? 0;
      this.entries[this.head] = undefined as unknown as HistoryEntry;
      this.head++;
      dropped++;
    }
    if (this.head > 256 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.dropped += dropped;
    return dropped;
  }

  entry(index: number): HistoryEntry {
    const e = this.entries[this.head + this.clamp(index)];
    if (!e) throw new RangeError('the history is empty');
    return e;
  }

  /** The session's state right after the change at `index` (clamped to the history). */
  stateAt(index: number): SessionState {
    return this.entry(index).state;
  }

  /** Cluster time of the change at `index`. */
  timeAt(index: number): number {
    return this.entry(index).at;
  }

  /** The last change at or before cluster time `t`; 0 when `t` is before the history. */
  indexAtTime(t: number): number {
    let lo = 0;
    let hi = this.length - 1;
    if (hi < 0) return -1;
    if (t < this.entry(0).at) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.entry(mid).at <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Notable moments, oldest first. */
  moments(): Moment[] {
    const out: Moment[] = [];
    for (let i = 0; i < this.length; i++) {
      const e = this.entry(i);
      for (const m of e.moments) out.push({ index: i, at: e.at, kind: m.kind, label: m.label });
    }
    return out;
  }

  /** The latest moment of `kind`, if the history still holds one. */
  lastMoment(kind: MomentKind): Moment | null {
    for (let i = this.length - 1; i >= 0; i--) {
      const e = this.entry(i);
      const m = e.moments.find((x) => x.kind === kind);
      if (m) return { index: i, at: e.at, kind: m.kind, label: m.label };
    }
    return null;
  }

  /** What the change at `index` was: its moment(s) if notable, else a short summary. */
  describe(index: number): string {
    const e = this.entry(index);
    return e.moments.length > 0 ? e.moments.map((m) => m.label).join('; ') : e.summary;
  }

  /** Cluster time of the oldest change kept, or null when empty. */
  startsAt(): number | null {
    return this.length > 0 ? this.entry(0).at : null;
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.total = 0;
    this.dropped = 0;
  }

  private clamp(index: number): number {
    return Math.min(Math.max(0, Math.trunc(index)), Math.max(0, this.length - 1));
  }
}

/** A change in a few words, for the scrubber's label. */
export function summarize(update: SessionUpdate): string {
  switch (update.kind) {
    case 'pipeline': {
      const c = update.change;
      if (c.change === 'removed') return `pod ${c.pod} deleted`;
      const verb = c.change === 'recreated' ? 'recreated, ' : '';
      return `pod ${c.pipeline.pod} ${verb}${c.pipeline.status}`;
    }
    case 'events': {
      let latest = update.events[0];
      for (const e of update.events) if ((e.lastSeen ?? '') >= (latest?.lastSeen ?? '')) latest = e;
      return latest ? `event ${latest.reason} on ${latest.object}` : 'events cleared';
    }
    case 'objectives': {
      const met = update.results.filter((o) => o.status === 'met').length;
      return `objectives: ${met} of ${update.results.length} met`;
    }
    case 'workloads':
      return update.workloads.length === 1 && update.workloads[0]
        ? `${update.workloads[0].kind} ${update.workloads[0].name}: ${update.workloads[0].summary}`
        : `${update.workloads.length} workloads updated`;
    case 'graph':
      return 'workload graph updated';
    case 'connection':
      return update.state.state === 'connected' ? 'connected to the cluster' : `connection ${update.state.state}`;
    case 'solved':
      return 'mission solved';
    case 'clock':
      return 'cluster clock reading';
    case 'nudges':
      return update.nudges.length === 0 ? 'no nudge' : `nudge: ${update.nudges[0]?.text ?? ''}`;
    case 'unlocks':
      return `${update.gates.filter((g) => g.unlocked).length} of ${update.gates.length} explanations unlocked`;
  }
}

/** The notable moments `update` made, taking the state from `before` to `after`. */
export function momentsOf(before: SessionState | null, update: SessionUpdate, after: SessionState): { kind: MomentKind; label: string }[] {
  const out: { kind: MomentKind; label: string }[] = [];
  switch (update.kind) {
    case 'pipeline': {
      const c = update.change;
      if (c.change === 'removed') break;
      const key = podKey(c.pipeline);
      const now = after.pods.find((e) => podKey(e.pipeline) === key);
      if (!now) break;
      const was = before?.pods.find((e) => podKey(e.pipeline) === key);
      const next = railView(now);
      const prev = was ? railView(was) : null;
      const where = (v: typeof next) => `${v.uid}:${v.marker}:${v.markerState}:${v.stuck?.reason ?? ''}`;
      if (prev && where(prev) === where(next)) break;
      const stage = next.stages[next.marker]?.label ?? 'a stage';
      if (next.markerState === 'stuck' || next.markerState === 'failed') {
        const why = next.stuck?.reason ? `: ${next.stuck.reason}` : '';
        out.push({ kind: 'stuck', label: `pod ${next.pod} ${next.markerState} at ${stage}${why}` });
      } else if (next.markerState === 'ready' && prev?.markerState !== 'ready') {
        out.push({ kind: 'ready', label: `pod ${next.pod} ready` });
      }
      break;
    }
    case 'workloads': {
      const was = new Map((before?.workloads ?? []).map((w) => [`${w.kind}/${w.name}`, w.applied.state]));
      for (const w of update.workloads) {
        const s = w.applied.state;
        if ((s === 'stuck' || s === 'failed') && was.get(`${w.kind}/${w.name}`) !== s) {
          out.push({ kind: 'stuck', label: `${w.kind} ${w.name} ${s}${w.applied.reason ? `: ${w.applied.reason}` : ''}` });
        }
      }
      break;
    }
    case 'objectives': {
      const was = new Map((before?.objectives ?? []).map((o) => [o.id, o.status]));
      for (const o of update.results) {
        if (o.status === 'met' && was.get(o.id) !== 'met') {
          out.push({ kind: 'objective', label: `objective met: ${o.title.replaceAll('`', '')}` });
        }
      }
      break;
    }
    case 'solved':
      out.push({ kind: 'solved', label: 'mission solved: the fix landed' });
      break;
    case 'connection':
      if (update.state.state === 'lost' && before?.connection.state !== 'lost') {
        out.push({ kind: 'lost', label: 'lost the cluster' });
      }
      break;
    case 'events':
    case 'graph':
    case 'clock':
      break;
  }
  return out;
}

// The mission screen's live state: everything the session's channel has said so far, folded
// into one value by `applyUpdate`. Pure, so every sequence of updates can be tested without
// a window.

import type { ConnectionState } from './bindings/ConnectionState';
import type { Diagnosis } from './bindings/Diagnosis';
import type { DiagnosisGate } from './bindings/DiagnosisGate';
import type { Nudge } from './bindings/Nudge';
import type { EventRow } from './bindings/EventRow';
import type { MissionProgress } from './bindings/MissionProgress';
import type { MissionSummary } from './bindings/MissionSummary';
import type { ObjectiveResult } from './bindings/ObjectiveResult';
import type { PersonalDebrief } from './bindings/PersonalDebrief';
import type { SessionUpdate } from './bindings/SessionUpdate';
import type { UiError } from './bindings/UiError';
import type { WorkloadView } from './bindings/WorkloadView';
import type { WorkloadGraph } from './bindings/WorkloadGraph';
import { applyChange, podKey, stageAnnouncement, type PodEntry } from './pipeline';
import { graphAnnouncements } from './graph';

export interface Solved {
  debriefHtml: string;
  /** The learner's own debrief (their fix, commands, time and hints), shown first. */
  debrief: PersonalDebrief | null;
  progress: MissionProgress;
  next: MissionSummary | null;
  /** Set when the solve could not be saved: the learner must see it (it names the file). */
  progressError: UiError | null;
}

export interface SessionState {
  pods: PodEntry[];
  /** The namespace's workloads (Deployments, Jobs, …), each with its own apply stage. */
  workloads: WorkloadView[];
  events: EventRow[];
  /** Null until the first evaluation arrives. */
  objectives: ObjectiveResult[] | null;
  allMet: boolean;
  solved: Solved | null;
  connection: ConnectionState;
  /** The namespace as a graph; null until the engine sends the first one. */
  graph: WorkloadGraph | null;
  /** The reacting hints that apply now, in the lesson's order (the first is shown). */
  nudges: Nudge[];
  /** Whether each diagnosis on screen may explain itself yet, and what to run to unlock it. */
  gates: DiagnosisGate[];
}

export const initialSession = (): SessionState => ({
  pods: [],
  workloads: [],
  events: [],
  objectives: null,
  allMet: false,
  solved: null,
  connection: { state: 'connected' },
  graph: null,
  nudges: [],
  gates: [],
});

export interface Applied {
  state: SessionState;
  /** Sentences for the live region, in order. */
  announcements: string[];
}

export function applyUpdate(state: SessionState, update: SessionUpdate): Applied {
  switch (update.kind) {
    case 'pipeline': {
      const change = update.change;
      const pods = applyChange(state.pods, change);
      const announcements: string[] = [];
      if (change.change === 'removed') {
        announcements.push(`Pod ${change.pod} was deleted.`);
      } else {
        const key = podKey(change.pipeline);
        const before = state.pods.find((e) => podKey(e.pipeline) === key);
        const after = pods.find((e) => podKey(e.pipeline) === key);
        const line = after ? stageAnnouncement(before, after) : null;
        if (line) announcements.push(line);
      }
      return { state: { ...state, pods }, announcements };
    }
    case 'events':
      return { state: { ...state, events: update.events }, announcements: [] };
    case 'objectives': {
      const before = new Map((state.objectives ?? []).map((o) => [o.id, o.status]));
      const announcements = update.results
        .filter((o) => o.status === 'met' && before.get(o.id) !== 'met')
        .map((o) => `Objective met: ${o.title.replaceAll('`', '')}.`);
      return { state: { ...state, objectives: update.results, allMet: update.allMet }, announcements };
    }
    case 'solved':
      return {
        state: {
          ...state,
          solved: { debriefHtml: update.debriefHtml, debrief: update.debrief ?? null, progress: update.progress, next: update.next, progressError: update.progressError ?? null },
        },
        announcements: update.progressError
          ? ['Mission solved! The debrief is open.', `Your solve was not saved: ${update.progressError.message}`]
          : ['Mission solved! The debrief is open.'],
      };
    case 'workloads': {
      // A workload newly stuck (a rollout past its deadline, a refused pod) is announced once.
      const before = new Map(state.workloads.map((w) => [`${w.kind}/${w.name}`, w.applied.state]));
      const announcements = update.workloads
        .filter((w) => (w.applied.state === 'stuck' || w.applied.state === 'failed') && before.get(`${w.kind}/${w.name}`) !== w.applied.state)
        .map((w) => `${w.kind} ${w.name} is ${w.applied.state}: ${w.applied.reason ?? 'unknown reason'}.`);
      return { state: { ...state, workloads: update.workloads }, announcements };
    }
    case 'graph':
      // A newly broken relation (a selector that misses, a missing ConfigMap) is announced once.
      return { state: { ...state, graph: update.graph }, announcements: graphAnnouncements(state.graph, update.graph) };
    case 'nudges': {
      // A nudge is said once, when it starts to apply; one that goes away is not announced.
      const before = new Set(state.nudges.map((n) => n.id));
      const announcements = update.nudges.filter((n) => !before.has(n.id)).map((n) => n.text);
      return { state: { ...state, nudges: update.nudges }, announcements };
    }
    case 'unlocks': {
      const before = new Map(state.gates.map((g) => [`${g.object}/${g.reason}`, g.unlocked]));
      const announcements = update.gates
        .filter((g) => g.unlocked && before.get(`${g.object}/${g.reason}`) === false)
        .map((g) => `The explanation of ${g.reason} for ${g.object} is now shown.`);
      return { state: { ...state, gates: update.gates }, announcements };
    }
    case 'clock':
      // The cluster's clock is the mission screen's business (lib/clusterclock.ts), not state.
      return { state, announcements: [] };
    case 'connection': {
      const c = update.state;
      const was = state.connection.state;
      const announcements =
        c.state === 'connected'
          ? was === 'connected'
            ? []
            : ['Connected to the cluster again.']
          : c.state === 'reconnecting'
            ? was === 'reconnecting'
              ? []
              : [`Lost contact with the cluster. Reconnecting, attempt ${c.attempt}.`]
            : [`The connection to the cluster is lost: ${c.failure.message}`];
      return { state: { ...state, connection: c }, announcements };
    }
  }
}

/**
 * Every cluster timestamp an update carries (event times, pod creation, evidence), so the
 * mission screen's estimate of the cluster's clock never falls behind what it shows.
 */
export function stampsOf(update: SessionUpdate): string[] {
  const out: (string | null | undefined)[] = [];
  if (update.kind === 'events') {
    for (const e of update.events) out.push(e.firstSeen, e.lastSeen);
  } else if (update.kind === 'workloads') {
    for (const w of update.workloads) out.push(w.applied.evidence.event?.lastSeen);
  } else if (update.kind === 'pipeline' && update.change.change !== 'removed') {
    const p = update.change.pipeline;
    out.push(p.createdAt);
    for (const stage of p.stages) out.push(stage.evidence.event?.lastSeen);
  }
  return out.filter((s): s is string => typeof s === 'string' && s.length > 0);
}

/** What a diagnosis card may show: everything, or the raw facts and what to run to see more. */
export type DiagnosisAccess = { unlocked: true } | { unlocked: false; investigate: string | null };

/**
 * Whether the diagnosis of `object` may show its explanation and commands. The engine decides
 * (the learner ran the investigating command, or revealed a hint); until it has said so for
 * this object and reason, the explanation stays hidden.
 */
export function diagnosisAccess(gates: DiagnosisGate[], object: string, diagnosis: Pick<Diagnosis, 'reason'>): DiagnosisAccess {
  const gate = gates.find((g) => g.object === object && g.reason === diagnosis.reason);
  if (gate?.unlocked) return { unlocked: true };
  return { unlocked: false, investigate: gate?.investigate ?? null };
}

// The mission screen's live state: everything the session's channel has said so far, folded
// into one value by `applyUpdate`. Pure, so every sequence of updates can be tested without
// a window.

import type { ConnectionState } from './bindings/ConnectionState';
import type { EventRow } from './bindings/EventRow';
import type { MissionProgress } from './bindings/MissionProgress';
import type { MissionSummary } from './bindings/MissionSummary';
import type { ObjectiveResult } from './bindings/ObjectiveResult';
import type { SessionUpdate } from './bindings/SessionUpdate';
import type { UiError } from './bindings/UiError';
import type { WorkloadView } from './bindings/WorkloadView';
import type { WorkloadGraph } from './bindings/WorkloadGraph';
import { applyChange, podKey, stageAnnouncement, type PodEntry } from './pipeline';
import { graphAnnouncements } from './graph';

export interface Solved {
  debriefHtml: string;
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
          solved: { debriefHtml: update.debriefHtml, progress: update.progress, next: update.next, progressError: update.progressError ?? null },
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

// The pipeline rail's view model: where each of a pod's stages stands, where the pod marker
// sits, what the stuck stage shows (reason badge, evidence, latest event, retry), and what the
// live region says when a pod moves. Pure functions of `PodPipeline` values and `now`.

import type { PipelineChange } from './bindings/PipelineChange';
import type { PodPipeline } from './bindings/PodPipeline';
import type { Retry } from './bindings/Retry';
import type { Stage } from './bindings/Stage';
import type { StageState } from './bindings/StageState';
import { age, countdown, type Countdown } from './kubetime';

/** A pod on the rail, with how often a pod of that name was recreated during the session. */
export interface PodEntry {
  pipeline: PodPipeline;
  recreations: number;
}

export interface StageView {
  id: string;
  label: string;
  state: StageState;
  /** The word a screen reader (and the tooltip) uses for the state. */
  stateLabel: string;
  reason: string | null;
  init: boolean;
  /** Index on the rail, 0-based. */
  index: number;
}

export interface StuckView {
  stage: StageView;
  /** `ImagePullBackOff`: from the stage, else from the diagnosis. */
  reason: string | null;
  title: string | null;
  explanation: string | null;
  /** `path = value` lines that prove the state. */
  evidence: string[];
  /** The latest supporting event: `Warning Failed: Failed to pull image …`. */
  event: { type: string; reason: string; message: string; count: number; lastSeen: string | null } | null;
  commands: string[];
}

export interface RailView {
  key: string;
  pod: string;
  namespace: string;
  uid: string;
  status: string;
  ready: string;
  restarts: number;
  restartsText: string;
  recreations: number;
  terminating: boolean;
  node: string | null;
  stages: StageView[];
  /** Index of the stage the pod marker sits at: the first one not done, else the last. */
  marker: number;
  /** How the marker looks: moving along, stopped at a problem, or home (all done). */
  markerState: 'moving' | 'stuck' | 'failed' | 'ready';
  stuck: StuckView | null;
  retry: Retry | null;
}

const STATE_LABELS: Record<StageState, string> = {
  pending: 'not reached',
  active: 'in progress',
  done: 'done',
  stuck: 'stuck',
  failed: 'failed',
};

export const stageStateLabel = (state: StageState): string => STATE_LABELS[state];

export const podKey = (p: Pick<PodPipeline, 'namespace' | 'pod'>): string => `${p.namespace}/${p.pod}`;

/**
 * The workload a pod belongs to, as the rail's header says it: `deployment/web · revision 2
 * (new)` during a rollout, `job/report` for a Job's pod; null for a bare pod.
 */
export function ownerLabel(p: Pick<PodPipeline, 'owner'>): string | null {
  const o = p.owner;
  if (!o) return null;
  let label = `${o.kind.toLowerCase()}/${o.name}`;
  if (o.revision !== null) label += ` · revision ${o.revision}`;
  if (o.role) label += o.role === 'new' ? ' (new)' : ' (old)';
  return label;
}

function stageView(stage: Stage, index: number): StageView {
  return {
    id: stage.id,
    label: stage.label,
    state: stage.state,
    stateLabel: STATE_LABELS[stage.state],
    reason: stage.reason,
    init: stage.kind === 'init',
    index,
  };
}

/** The stage to explain: the first stuck or failed one. */
function problemStage(stages: readonly Stage[]): number {
  return stages.findIndex((s) => s.state === 'stuck' || s.state === 'failed');
}

export function railView(entry: PodEntry): RailView {
  const p = entry.pipeline;
  const stages = p.stages.map(stageView);
  const firstOpen = p.stages.findIndex((s) => s.state !== 'done');
  const problem = problemStage(p.stages);
  const marker = problem >= 0 ? problem : firstOpen >= 0 ? firstOpen : Math.max(0, stages.length - 1);
  const markerState =
    problem >= 0
      ? p.stages[problem]?.state === 'failed'
        ? 'failed'
        : 'stuck'
      : firstOpen < 0 && stages.length > 0
        ? 'ready'
        : 'moving';

  let stuck: StuckView | null = null;
  const problemRaw = problem >= 0 ? p.stages[problem] : undefined;
  const problemView = problem >= 0 ? stages[problem] : undefined;
  if (problemRaw && problemView) {
    const diagnosis = p.diagnosis;
    const event = problemRaw.evidence.event;
    stuck = {
      stage: problemView,
      reason: problemRaw.reason ?? diagnosis?.reason ?? null,
      title: diagnosis?.title ?? problemRaw.message,
      explanation: diagnosis?.explanation ?? null,
      evidence: problemRaw.evidence.fields.map((f) => `${f.path} = ${f.value}`),
      event: event
        ? { type: event.type, reason: event.reason, message: event.message, count: event.count, lastSeen: event.lastSeen }
        : null,
      commands: diagnosis?.commands ?? [],
    };
  }

  return {
    key: podKey(p),
    pod: p.pod,
    namespace: p.namespace,
    uid: p.uid,
    status: p.status,
    ready: p.ready,
    restarts: p.restarts,
    restartsText: p.restartsText,
    recreations: entry.recreations,
    terminating: p.terminating,
    node: p.node,
    stages,
    marker,
    markerState,
    stuck,
    retry: p.nextRetry,
  };
}

/** `Warning Failed (x4, 12s ago): Failed to pull image …` */
export function eventLine(event: NonNullable<StuckView['event']>, now: number): string {
  const { head, age, tail } = eventLineParts(event, now);
  return `${event.type} ${head}${age}${tail}`;
}

/**
 * `eventLine` without the leading type, in three parts so the window can set the one that
 * ticks (`6s ago`) in a box of its own: `head` + `age` + `tail` is the rest of the line.
 */
export function eventLineParts(
  event: NonNullable<StuckView['event']>,
  now: number,
): { head: string; age: string; tail: string } {
  const times = event.count > 1 ? `x${event.count}` : '';
  const tail = `: ${event.message}`;
  if (event.lastSeen) {
    return { head: `${event.reason} (${times ? `${times}, ` : ''}`, age: `${age(event.lastSeen, now)} ago`, tail: `)${tail}` };
  }
  return { head: `${event.reason}${times ? ` (${times})` : ''}`, age: '', tail };
}

export interface RetryView {
  countdown: Countdown;
  /** `Next pull in 7s`, `Next restart in 1m 05s`, `Retrying now`. */
  text: string;
  backoff: string;
}

export function retryView(retry: Retry | null, now: number): RetryView | null {
  if (!retry) return null;
  const left = countdown(retry.at, now);
  if (!left) return null;
  const what = retry.kind === 'image-pull' ? 'pull' : 'restart';
  return {
    countdown: left,
    text: left.due ? `Next ${what} attempt due now` : `Next ${what} attempt in ${left.text}`,
    backoff: `back-off ${retry.backoffSeconds}s`,
  };
}

/** Applies one change to the pods on the rail, keeping their order of first appearance. */
export function applyChange(pods: readonly PodEntry[], change: PipelineChange): PodEntry[] {
  switch (change.change) {
    case 'upserted':
    case 'recreated': {
      const key = podKey(change.pipeline);
      const at = pods.findIndex((e) => podKey(e.pipeline) === key);
      const bump = change.change === 'recreated' ? 1 : 0;
      if (at < 0) return [...pods, { pipeline: change.pipeline, recreations: bump }];
      const next = pods.slice();
      const old = pods[at];
      next[at] = { pipeline: change.pipeline, recreations: (old?.recreations ?? 0) + bump };
      return next;
    }
    case 'removed':
      return pods.filter(
        (e) => !(e.pipeline.uid === change.uid || podKey(e.pipeline) === `${change.namespace}/${change.pod}`),
      );
  }
}

/** What the live region says when a pod's position changes, or null when nothing moved. */
export function stageAnnouncement(before: PodEntry | undefined, after: PodEntry): string | null {
  const next = railView(after);
  const prev = before ? railView(before) : null;
  const at = next.stages[next.marker];
  if (!at) return null;
  const where = (v: RailView) => `${v.marker}:${v.markerState}:${v.stuck?.reason ?? ''}`;
  if (prev && prev.uid === next.uid && where(prev) === where(next)) return null;
  const name = `Pod ${next.pod}`;
  const recreated = prev && prev.uid !== next.uid ? ' was recreated and' : '';
  switch (next.markerState) {
    case 'ready':
      return `${name}${recreated} reached ${at.label}: every stage is done.`;
    case 'stuck':
      return `${name}${recreated} is stuck at ${at.label}${next.stuck?.reason ? `: ${next.stuck.reason}` : ''}.`;
    case 'failed':
      return `${name}${recreated} failed at ${at.label}${next.stuck?.reason ? `: ${next.stuck.reason}` : ''}.`;
    case 'moving':
      return `${name}${recreated} is at ${at.label}.`;
  }
}

// Pod pipelines shaped like the engine's, for the unit tests: a pod stuck at a given stage.

import type { PodPipeline } from './bindings/PodPipeline';
import type { Stage } from './bindings/Stage';
import type { StageKind } from './bindings/StageKind';
import type { StageState } from './bindings/StageState';

const ORDER: [string, StageKind, string][] = [
  ['applied', 'applied', 'Applied'],
  ['scheduled', 'scheduled', 'Scheduled'],
  ['pulled', 'image-pulled', 'Image pulled'],
  ['created', 'container-created', 'Container created'],
  ['running', 'running', 'Running'],
  ['ready', 'ready', 'Ready'],
];

export function stage(id: string, kind: StageKind, label: string, state: StageState, reason: string | null = null): Stage {
  return { id, kind, label, container: null, state, reason, message: null, evidence: { fields: [], event: null } };
}

/** A pod whose stages before `at` are done, `at` is in `state`, and later ones pending. */
export function pipeline(at: string | null, state: StageState = 'stuck', over: Partial<PodPipeline> = {}): PodPipeline {
  const index = at === null ? ORDER.length : ORDER.findIndex(([id]) => id === at);
  const stages = ORDER.map(([id, kind, label], i) =>
    stage(id, kind, label, i < index ? 'done' : i === index ? state : 'pending'),
  );
  return {
    namespace: 'kq-test',
    pod: 'web',
    uid: 'uid-1',
    phase: 'Pending',
    status: 'Pending',
    ready: '0/1',
    restarts: 0,
    restartsText: '0',
    terminating: false,
    node: 'node-1',
    createdAt: '2025-01-01T00:00:00Z',
    stages,
    containers: [],
    diagnosis: null,
    nextRetry: null,
    ...over,
  };
}

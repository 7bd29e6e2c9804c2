// Payloads for the mission screen tests, shaped like the engine's (ui/src/lib/bindings): a
// session for the ImagePullBackOff mission, and pod pipelines stuck at pull, schedule and run,
// and all the way to ready. Times are relative to `at(seconds)` from a fixed start.

import { loaded, missions } from './harness.mjs';

export const T0 = Date.parse('2025-03-01T10:00:00Z');
export const at = (seconds) => new Date(T0 + seconds * 1000).toISOString();

/**
 * The cluster's clock as the app sends it (`ClusterClock`): its time `seconds` after T0, at
 * `speed`. The mission tests open the page at T0 + 25 s, so `clusterClock(25)` is a cluster
 * whose clock matches the page's.
 */
export const clusterClock = (seconds, speed = 1) => ({ now: at(seconds), speed });

export const podYaml = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
    - name: web
      image: nginx:nonexistent-tag-xyz-123
      ports:
        - containerPort: 80
`;

export const session = (over = {}) => ({
  detail: {
    summary: missions[1],
    namespace: 'kq-image-pull-backoff',
    briefingHtml:
      '<h1>The image that never arrives</h1><p>A web pod, <code>web</code>, went out to the namespace <code>kq-image-pull-backoff</code> minutes ago. It has never started.</p>',
    objectives: [
      { id: 'web-ready', title: '`web` is Running and Ready' },
      { id: 'web-image-pulled', title: "The node can pull `web`'s image" },
    ],
    hintCount: 3,
  },
  manifests: [{ name: 'pod.yaml', yaml: podYaml }],
  kubeconfigExport: 'export KUBECONFIG=/home/learner/.local/share/dev.kubequest.desktop/kubeconfig',
  context: 'kubequest',
  hints: [],
  progress: { status: 'in-progress', attempts: 1, hintsUsed: 0, startedAt: at(0), solvedAt: null, timeToFixSeconds: null },
  clock: clusterClock(25),
  ...over,
});

const ORDER = [
  ['applied', 'applied', 'Applied'],
  ['scheduled', 'scheduled', 'Scheduled'],
  ['pulled', 'image-pulled', 'Image pulled'],
  ['created', 'container-created', 'Container created'],
  ['running', 'running', 'Running'],
  ['ready', 'ready', 'Ready'],
];

const noEvidence = () => ({ fields: [], event: null });

/** A pipeline whose stages before `stageId` are done, `stageId` is `state`, later ones pending. */
export function pipeline(stageId, state, over = {}, stageOver = {}) {
  const index = stageId === null ? ORDER.length : ORDER.findIndex(([id]) => id === stageId);
  const stages = ORDER.map(([id, kind, label], i) => ({
    id,
    kind,
    label,
    container: null,
    state: i < index ? 'done' : i === index ? state : 'pending',
    reason: null,
    message: null,
    evidence: noEvidence(),
    ...(i === index ? stageOver : {}),
  }));
  return {
    namespace: 'kq-image-pull-backoff',
    pod: 'web',
    uid: 'uid-web-1',
    phase: 'Pending',
    status: 'Pending',
    ready: '0/1',
    restarts: 0,
    restartsText: '0',
    terminating: false,
    node: 'kubequest-node',
    createdAt: at(0),
    stages,
    containers: [],
    diagnosis: null,
    nextRetry: null,
    ...over,
  };
}

export const stuckAtPull = (retryAt) =>
  pipeline(
    'pulled',
    'stuck',
    {
      status: 'ImagePullBackOff',
      diagnosis: {
        kind: 'image-pull-back-off',
        reason: 'ImagePullBackOff',
        stage: 'image-pulled',
        container: 'web',
        title: 'The node cannot pull the image nginx:nonexistent-tag-xyz-123',
        explanation: 'The registry has no such tag. The kubelet keeps retrying with a growing back-off.',
        commands: ['kubectl describe pod web -n kq-image-pull-backoff'],
        lastTermination: null,
        fitError: null,
      },
      nextRetry: { kind: 'image-pull', container: 'web', at: retryAt, backoffSeconds: 20, basis: 'the BackOff event and the back-off step' },
    },
    {
      reason: 'ImagePullBackOff',
      evidence: {
        fields: [{ path: 'status.containerStatuses[0].state.waiting.reason', value: 'ImagePullBackOff' }],
        event: {
          type: 'Normal',
          reason: 'BackOff',
          message: 'Back-off pulling image "nginx:nonexistent-tag-xyz-123"',
          count: 3,
          lastSeen: at(20),
          age: '5s',
        },
      },
    },
  );

export const stuckAtSchedule = () =>
  pipeline(
    'scheduled',
    'stuck',
    {
      node: null,
      diagnosis: {
        kind: 'unschedulable',
        reason: 'Unschedulable',
        stage: 'scheduled',
        container: null,
        title: 'No node has enough CPU for the pod',
        explanation: 'The pod requests more CPU than any node has free.',
        commands: ['kubectl describe pod web -n kq-pending-insufficient-cpu'],
        lastTermination: null,
        fitError: { nodes: 1, reasons: [{ count: 1, reason: 'Insufficient cpu' }], preemption: 'No preemption victims found for incoming pod' },
      },
    },
    {
      reason: 'Unschedulable',
      evidence: {
        fields: [{ path: 'status.conditions[PodScheduled].reason', value: 'Unschedulable' }],
        event: {
          type: 'Warning',
          reason: 'FailedScheduling',
          message: '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..',
          count: 1,
          lastSeen: at(1),
          age: '1s',
        },
      },
    },
  );

export const stuckAtRun = (retryAt) =>
  pipeline(
    'running',
    'stuck',
    {
      phase: 'Running',
      status: 'CrashLoopBackOff',
      restarts: 4,
      restartsText: '4 (18s ago)',
      diagnosis: {
        kind: 'crash-loop-back-off',
        reason: 'CrashLoopBackOff',
        stage: 'running',
        container: 'app',
        title: 'The container keeps exiting, so the kubelet restarts it with a growing delay',
        explanation: 'The command fails at once with exit code 127.',
        commands: ['kubectl logs web --previous -n kq-crash-loop-backoff'],
        lastTermination: { reason: 'Error', exitCode: 127, signal: null, message: null },
        fitError: null,
      },
      nextRetry: { kind: 'crash-loop', container: 'app', at: retryAt, backoffSeconds: 80, basis: 'back-off 1m20s' },
    },
    {
      reason: 'CrashLoopBackOff',
      evidence: {
        fields: [
          { path: 'status.containerStatuses[0].state.waiting.reason', value: 'CrashLoopBackOff' },
          { path: 'status.containerStatuses[0].lastState.terminated.exitCode', value: '127' },
        ],
        event: { type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container app in pod web', count: 6, lastSeen: at(30), age: '2s' },
      },
    },
  );

export const ready = (over = {}) => pipeline(null, 'done', { phase: 'Running', status: 'Running', ready: '1/1', ...over });

export const pullEvents = [
  // The scheduler's event has no lastTimestamp (events.k8s.io recorder); describe lists it first.
  { type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned kq-image-pull-backoff/web to kubequest-node', count: 1, firstSeen: at(0), lastSeen: at(0), lastTimestamp: null, from: 'default-scheduler', object: 'pod/web', container: null },
  { type: 'Normal', reason: 'Pulling', message: 'Pulling image "nginx:nonexistent-tag-xyz-123"', count: 4, firstSeen: at(1), lastSeen: at(18), lastTimestamp: at(18), from: 'kubelet', object: 'pod/web', container: 'web' },
  { type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff', count: 3, firstSeen: at(2), lastSeen: at(20), lastTimestamp: at(20), from: 'kubelet', object: 'pod/web', container: 'web' },
];

export const objectives = (readyStatus = 'not-met', imageStatus = 'not-met') => ({
  kind: 'objectives',
  results: [
    { id: 'web-ready', title: '`web` is Running and Ready', status: readyStatus, reason: readyStatus === 'met' ? 'web is Running and Ready' : 'web is Pending' },
    { id: 'web-image-pulled', title: "The node can pull `web`'s image", status: imageStatus, reason: imageStatus === 'met' ? 'nginx:1.27 resolves' : 'nginx:nonexistent-tag-xyz-123 is not in the registry' },
  ],
  allMet: readyStatus === 'met' && imageStatus === 'met',
});

export const upsert = (p) => ({ kind: 'pipeline', change: { change: 'upserted', pipeline: p } });

export const solved = (next = missions[2]) => ({
  kind: 'solved',
  debriefHtml: '<h1>Mission debrief: the image that never arrives</h1><h2>What happened</h2><p><code>web</code> asked for a tag nobody pushed.</p>',
  progress: { status: 'solved', attempts: 1, hintsUsed: 1, startedAt: at(0), solvedAt: at(252), timeToFixSeconds: 252 },
  next,
});

/** Answers for a mission screen: start, actions, hints. */
export const missionAnswers = (over = {}) => ({
  start_mission: [{ ok: session() }],
  reset_mission: [{ ok: session() }],
  apply_manifest: [
    {
      ok: { ok: true, command: 'kubectl apply -n kq-image-pull-backoff -f pod.yaml', output: 'pod/web configured', diagnostics: [], immutable: null },
    },
  ],
  delete_manifest: [{ ok: { ok: true, command: 'kubectl delete -n kq-image-pull-backoff -f pod.yaml', output: 'pod "web" deleted', diagnostics: [], immutable: null } }],
  reapply_manifest: [
    {
      ok: {
        ok: true,
        command: 'kubectl delete -n kq-image-pull-backoff -f pod.yaml && kubectl apply -n kq-image-pull-backoff -f pod.yaml',
        output: 'pod "web" deleted\npod/web created',
        diagnostics: [],
        immutable: null,
      },
    },
  ],
  reveal_hint: [
    { ok: { index: 0, html: '<p>The pod has a node, so the scheduler is happy.</p>', remaining: 2, hintsUsed: 1 } },
    { ok: { index: 1, html: '<p>Read the <code>Failed to pull image</code> event to the end.</p>', remaining: 1, hintsUsed: 2 } },
  ],
  get_progress: [
    {
      ok: loaded({
        version: 1,
        learner: null,
        missions: {
          'crash-loop-backoff': { status: 'solved', attempts: 1, hintsUsed: 0, startedAt: at(-900), solvedAt: at(-700), timeToFixSeconds: 200 },
        },
      }),
    },
  ],
  ...over,
});

/** The server's text for a Pod edit that cannot be made in place (kube-apiserver 1.33). */
const POD_UPDATE_RULE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** What Apply answers when the learner changed a Pod's command in place. */
export const immutableApply = () => ({
  ok: false,
  command: 'kubectl apply -n kq-image-pull-backoff -f pod.yaml',
  output: `The Pod "web" is invalid: spec: Forbidden: ${POD_UPDATE_RULE}\n  core.PodSpec{\n  \tVolumes: nil,\n- \tCommand: nil,\n+ \tCommand: []string{"nginx"},\n  }`,
  diagnostics: [],
  immutable: {
    kind: 'Pod',
    name: 'web',
    summary:
      'A Pod cannot be changed in place except for the few fields below. Everything else in its spec (the command, env, ports, resources, volumes, probes, …) is fixed when the Pod is created, so this edit can only take effect on a new Pod: delete `web` and apply the file again.',
    fields: ['spec'],
    canChange: [
      '`spec.containers[*].image`',
      '`spec.initContainers[*].image`',
      '`spec.activeDeadlineSeconds`',
      '`spec.tolerations` (only additions to existing tolerations)',
      '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ],
    serverMessage: `The Pod "web" is invalid: spec: Forbidden: ${POD_UPDATE_RULE}`,
  },
});

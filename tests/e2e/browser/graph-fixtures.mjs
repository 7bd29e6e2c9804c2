// Session updates for the workload graph tests, shaped like the engine's (ui/src/lib/bindings:
// SessionUpdate kind `graph` with a WorkloadGraph, plus the pods' pipelines): a rollout, a
// stuck rollout, a selector mismatch and a Pending pod on a three-node cluster.
//
// `scenarioUpdates(name)` is what the tests play. When the engine's recordings exist
// (recorded/<name>.json, a list of SessionUpdates or `{ updates: [...] }`) it plays those;
// otherwise (or with KQ_GRAPH_FIXTURES=hand) the hand-made ones below. The tests only rely on
// what any faithful recording has.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { at, pipeline, upsert } from './mission-fixtures.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const NS = 'kq-web';

const IDS = {
  service: 'Service',
  'endpoint-slice': 'EndpointSlice',
  deployment: 'Deployment',
  'replica-set': 'ReplicaSet',
  pod: 'Pod',
  'config-map': 'ConfigMap',
  'service-account': 'ServiceAccount',
  'resource-quota': 'ResourceQuota',
};

const STEPS = ['applied', 'scheduled', 'image-pulled', 'container-created', 'running', 'ready'];

/** A compact rail: every step before `at` done, `at` in `state`, the rest pending (null: all done). */
export const rail = (atStep = null, state = 'stuck') => {
  const index = atStep === null ? STEPS.length : STEPS.indexOf(atStep);
  return STEPS.map((kind, i) => ({ kind, state: i < index ? 'done' : i === index ? state : 'pending' }));
};

export const gnode = (kind, name, health = 'ok', over = {}) => ({
  id: `${IDS[kind] ?? kind}/${name}`,
  kind,
  name,
  uid: `uid-${kind}-${name}`,
  health,
  summary: '',
  revision: null,
  rail: [],
  evidence: [],
  commands: [{ label: 'its events and conditions', command: `kubectl describe ${kind.replaceAll('-', '')} ${name} -n ${NS}` }],
  conditions: [],
  ...over,
});

export const gedge = (from, to, relation, broken = false, why = null) => ({ from: from.id, to: to.id, relation, broken, why });

export const graphUpdate = (nodes, edges, focus = null, scheduling = []) => ({
  kind: 'graph',
  graph: { namespace: NS, nodes, edges, focus, scheduling },
});

const readyPod = (name, revision, over = {}) =>
  gnode('pod', name, 'ok', { summary: 'Running, 1/1 ready', revision, rail: rail(null), ...over });

const podPipeline = (name, over = {}) =>
  upsert(pipeline(null, 'done', { namespace: NS, pod: name, uid: `uid-pod-${name}`, phase: 'Running', status: 'Running', ready: '1/1', ...over }));

// ---- a rollout: revision 1's three pods give way to revision 2's -----------------------------

function rolloutGraph({ oldPods, newPods, depHealth = 'ok', depSummary = '3/3 ready', terminating = [] }) {
  const svc = gnode('service', 'web', 'ok', { summary: 'ClusterIP 10.96.4.12 80→8080/TCP' });
  const dep = gnode('deployment', 'web', depHealth, { summary: depSummary, revision: newPods ? 2 : 1 });
  const cm = gnode('config-map', 'web-config', 'ok', { summary: '2 keys' });
  const rs1 = gnode('replica-set', 'web-6d4b', 'ok', { summary: `${oldPods.length}/${oldPods.length} ready`, revision: 1 });
  const nodes = [svc, dep, rs1];
  const edges = [gedge(dep, rs1, 'owns')];
  const pods = [];
  for (const p of oldPods) {
    const pod = terminating.includes(p) ? gnode('pod', p, 'terminating', { summary: 'Terminating', revision: 1, rail: rail(null) }) : readyPod(p, 1);
    pods.push(pod);
    edges.push(gedge(rs1, pod, 'owns'), gedge(svc, pod, 'selects'), gedge(pod, cm, 'mounts'));
  }
  if (newPods) {
    const rs2 = gnode('replica-set', 'web-7f9c', 'progressing', { summary: `${newPods.length} pods`, revision: 2 });
    nodes.push(rs2);
    edges.push(gedge(dep, rs2, 'owns'));
    for (const [p, done] of newPods) {
      const pod = done ? readyPod(p, 2) : gnode('pod', p, 'progressing', { summary: 'ContainerCreating', revision: 2, rail: rail('container-created', 'active') });
      pods.push(pod);
      edges.push(gedge(rs2, pod, 'owns'), gedge(svc, pod, 'selects'), gedge(pod, cm, 'mounts'));
    }
  }
  return graphUpdate([...nodes, ...pods, cm], edges);
}

const OLD = ['web-6d4b-2xkq9', 'web-6d4b-8hj2m', 'web-6d4b-tq7zc'];

const handRollout = () => [
  ...OLD.map((p) => podPipeline(p)),
  rolloutGraph({ oldPods: OLD }),
  rolloutGraph({ oldPods: OLD, newPods: [['web-7f9c-4bnxw', false]], depHealth: 'progressing', depSummary: 'rolling out revision 2: 1 new pod, 3 old' }),
  podPipeline('web-7f9c-4bnxw'),
  rolloutGraph({
    oldPods: OLD,
    newPods: [['web-7f9c-4bnxw', true], ['web-7f9c-k2v8d', false]],
    depHealth: 'progressing',
    depSummary: 'rolling out revision 2: 2 new pods, 2 old',
    terminating: [OLD[0]],
  }),
  { kind: 'pipeline', change: { change: 'removed', namespace: NS, pod: OLD[0], uid: `uid-pod-${OLD[0]}` } },
  rolloutGraph({ oldPods: OLD.slice(1), newPods: [['web-7f9c-4bnxw', true], ['web-7f9c-k2v8d', true], ['web-7f9c-w9r5t', false]], depHealth: 'progressing', depSummary: 'rolling out revision 2: 3 new pods, 2 old', terminating: OLD.slice(1) }),
  rolloutGraph({ oldPods: [], newPods: [['web-7f9c-4bnxw', true], ['web-7f9c-k2v8d', true], ['web-7f9c-w9r5t', true]], depSummary: '3/3 ready, revision 2' }),
];

// ---- a stuck rollout: revision 2's image does not exist, the deadline passes ------------------

function handStuckRollout() {
  const svc = gnode('service', 'web', 'ok', { summary: 'ClusterIP 10.96.4.12 80→8080/TCP' });
  const dep = gnode('deployment', 'web', 'broken', {
    summary: 'revision 2: 1 new pod not ready, 3 old',
    revision: 2,
    evidence: [
      'status.conditions[Progressing].reason = ProgressDeadlineExceeded',
      'ReplicaSet "web-7f9c" has timed out progressing.',
    ],
    conditions: [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
      { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-7f9c" has timed out progressing.' },
    ],
  });
  const rs1 = gnode('replica-set', 'web-6d4b', 'ok', { summary: '3/3 ready', revision: 1 });
  const rs2 = gnode('replica-set', 'web-7f9c', 'progressing', { summary: '0/1 ready', revision: 2 });
  const old = OLD.map((p) => readyPod(p, 1));
  const stuck = gnode('pod', 'web-7f9c-4bnxw', 'broken', {
    summary: 'ImagePullBackOff',
    revision: 2,
    rail: rail('image-pulled', 'stuck'),
    evidence: ['status.containerStatuses[0].state.waiting.reason = ImagePullBackOff'],
  });
  const edges = [
    gedge(dep, rs1, 'owns'),
    gedge(dep, rs2, 'owns'),
    ...old.flatMap((p) => [gedge(rs1, p, 'owns'), gedge(svc, p, 'selects')]),
    gedge(rs2, stuck, 'owns'),
    gedge(svc, stuck, 'selects'),
  ];
  return [...OLD.map((p) => podPipeline(p)), graphUpdate([svc, dep, rs1, rs2, ...old, stuck], edges, dep.id)];
}

// ---- a selector mismatch: the Service selects app=web, the pods say app=webapp --------------

export const SELECTOR_WHY = 'selector app=web, pod has app=webapp';

function handSelectorMismatch() {
  const svc = gnode('service', 'web', 'broken', { summary: 'ClusterIP 10.96.4.12 80→8080/TCP, 0 endpoints', evidence: ['spec.selector = app=web'] });
  const slice = gnode('endpoint-slice', 'web-x7k2p', 'broken', { summary: '0 endpoints' });
  const dep = gnode('deployment', 'webapp', 'ok', { summary: '2/2 ready', revision: 1 });
  const rs = gnode('replica-set', 'webapp-5c8d', 'ok', { summary: '2/2 ready', revision: 1 });
  const pods = ['webapp-5c8d-9gq2x', 'webapp-5c8d-r4m7n'].map((p) => readyPod(p, 1));
  const sa = gnode('service-account', 'default');
  const edges = [
    gedge(svc, slice, 'owns'),
    gedge(dep, rs, 'owns'),
    ...pods.flatMap((p) => [gedge(rs, p, 'owns'), gedge(svc, p, 'selects', true, SELECTOR_WHY), gedge(p, sa, 'runs-as')]),
  ];
  return [...pods.map((p) => podPipeline(p.name)), graphUpdate([svc, slice, dep, rs, ...pods, sa], edges, svc.id)];
}

// ---- a Pending pod on three nodes: too much CPU for the workers, the control plane tainted ---

function handPendingPod() {
  const dep = gnode('deployment', 'batch', 'progressing', { summary: '0/1 ready', revision: 1 });
  const rs = gnode('replica-set', 'batch-66f9', 'progressing', { summary: '0/1 ready', revision: 1 });
  const pod = gnode('pod', 'batch-66f9-z8m4c', 'broken', {
    summary: 'Pending: 0/3 nodes are available',
    revision: 1,
    rail: rail('scheduled', 'stuck'),
    evidence: ['status.conditions[PodScheduled].reason = Unschedulable'],
  });
  const quota = gnode('resource-quota', 'compute', 'ok', { summary: 'cpu 2/8' });
  const edges = [gedge(dep, rs, 'owns'), gedge(rs, pod, 'owns'), gedge(quota, rs, 'limits')];
  const cpu = (free) => ({ filter: 'NodeResourcesFit', passed: false, detail: `cpu: requested 2, free ${free} of 1.9 allocatable` });
  const scheduling = [
    {
      pod: pod.name,
      source: 'filters',
      message: '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.',
      nodes: [
        {
          node: 'kq-control-plane',
          fits: false,
          filters: [
            { filter: 'NodeUnschedulable', passed: true, detail: 'schedulable' },
            { filter: 'TaintToleration', passed: false, detail: 'taint node-role.kubernetes.io/control-plane:NoSchedule not tolerated' },
            { filter: 'NodeResourcesFit', passed: true, detail: 'cpu: requested 2, free 3.2 of 3.8 allocatable' },
          ],
        },
        {
          node: 'kq-worker-1',
          fits: false,
          filters: [
            { filter: 'NodeUnschedulable', passed: true, detail: 'schedulable' },
            { filter: 'TaintToleration', passed: true, detail: 'no taints' },
            cpu('1.35'),
          ],
        },
        {
          node: 'kq-worker-2',
          fits: false,
          filters: [
            { filter: 'NodeUnschedulable', passed: true, detail: 'schedulable' },
            { filter: 'TaintToleration', passed: true, detail: 'no taints' },
            cpu('0.9'),
          ],
        },
      ],
    },
  ];
  const pending = upsert(
    pipeline('scheduled', 'stuck', { namespace: NS, pod: pod.name, uid: pod.uid, node: null, createdAt: at(0) }, { reason: 'Unschedulable', message: '0/3 nodes are available' }),
  );
  return [pending, graphUpdate([quota, dep, rs, pod], edges, pod.id, scheduling)];
}

const HAND = {
  rollout: handRollout,
  'stuck-rollout': handStuckRollout,
  'selector-mismatch': handSelectorMismatch,
  'pending-pod': handPendingPod,
};

/** The updates of a scenario: the engine's recording when there is one, else the hand-made list. */
export function scenarioUpdates(name) {
  const file = path.join(here, 'recorded', `${name}.json`);
  // KQ_GRAPH_FIXTURES=hand plays the hand-made updates even when recordings exist.
  if (process.env.KQ_GRAPH_FIXTURES !== 'hand' && existsSync(file)) {
    const data = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(data) ? data : data.updates;
  }
  return HAND[name]();
}

/** The graphs among the updates, in order. */
export const graphsOf = (updates) => updates.filter((u) => u.kind === 'graph').map((u) => u.graph);

import dagre from '@dagrejs/dagre';
import { describe, expect, it, vi } from 'vitest';
import type { GraphEdge } from './bindings/GraphEdge';
import type { GraphKind } from './bindings/GraphKind';
import type { GraphNode } from './bindings/GraphNode';
import type { Health } from './bindings/Health';
import type { Relation } from './bindings/Relation';
import type { WorkloadGraph } from './bindings/WorkloadGraph';
import {
  CARD_H,
  PITCH_X,
  PITCH_Y,
  conditionIsBad,
  describeGraph,
  eventsFor,
  evidenceValue,
  graphAnnouncements,
  graphFirst,
  layoutGraph,
  shortName,
  spareRows,
  yamlCommand,
  moveFocus,
  navOrder,
  nodeLabel,
  schedulingFor,
  type GraphLayout,
} from './graph';

const NAMES: Partial<Record<GraphKind, string>> = {
  service: 'Service',
  deployment: 'Deployment',
  'replica-set': 'ReplicaSet',
  pod: 'Pod',
  'config-map': 'ConfigMap',
  'endpoint-slice': 'EndpointSlice',
  'resource-quota': 'ResourceQuota',
};

function node(kind: GraphKind, name: string, health: Health = 'ok', over: Partial<GraphNode> = {}): GraphNode {
  return {
    id: `${NAMES[kind] ?? kind}/${name}`,
    kind,
    name,
    uid: `uid-${name}`,
    health,
    summary: '',
    revision: null,
    rail: [],
    evidence: [],
    commands: [],
    conditions: [],
    ...over,
  };
}

const edge = (from: GraphNode, to: GraphNode, relation: Relation, broken = false, why: string | null = null): GraphEdge => ({
  from: from.id,
  to: to.id,
  relation,
  broken,
  why,
});

const graph = (nodes: GraphNode[], edges: GraphEdge[], focus: string | null = null): WorkloadGraph => ({
  namespace: 'kq-web',
  nodes,
  edges,
  focus,
  scheduling: [],
});

/** web: Service → Deployment → ReplicaSet rs → `pods` pods, each mounting ConfigMap settings. */
function rollout(rsPods: Record<string, string[]>) {
  const svc = node('service', 'web');
  const dep = node('deployment', 'web');
  const cm = node('config-map', 'settings');
  const nodes = [svc, dep];
  const edges: GraphEdge[] = [];
  const pods: GraphNode[] = [];
  for (const [rsName, podNames] of Object.entries(rsPods)) {
    const rs = node('replica-set', rsName);
    nodes.push(rs);
    edges.push(edge(dep, rs, 'owns'));
    for (const p of podNames) {
      const pod = node('pod', p);
      pods.push(pod);
      edges.push(edge(rs, pod, 'owns'), edge(svc, pod, 'selects'), edge(pod, cm, 'mounts'));
    }
  }
  return graph([...nodes, ...pods, cm], edges);
}

const positions = (layout: GraphLayout) => new Map(layout.nodes.map((p) => [p.id, `${p.x},${p.y}`]));

describe('layoutGraph', () => {
  it('puts each layer in its own column, left to right', () => {
    const layout = layoutGraph(rollout({ 'web-1': ['web-1-a', 'web-1-b'] }));
    const x = (id: string) => layout.nodes.find((p) => p.id === id)!.x;
    expect(x('Deployment/web')).toBeGreaterThan(x('Service/web'));
    expect(x('ReplicaSet/web-1')).toBe(x('Deployment/web') + PITCH_X);
    expect(x('Pod/web-1-a')).toBe(x('ReplicaSet/web-1') + PITCH_X);
    expect(x('ConfigMap/settings')).toBe(x('Pod/web-1-a') + PITCH_X);
    // No two nodes share a slot.
    expect(new Set(positions(layout).values()).size).toBe(layout.nodes.length);
  });

  it('keeps every node in place while a rollout adds and removes pods', () => {
    const first = layoutGraph(rollout({ 'web-1': ['web-1-a', 'web-1-b', 'web-1-c'] }));
    const second = layoutGraph(rollout({ 'web-1': ['web-1-a', 'web-1-b', 'web-1-c'], 'web-2': ['web-2-a'] }), first.memory);
    const third = layoutGraph(rollout({ 'web-1': ['web-1-b', 'web-1-c'], 'web-2': ['web-2-a', 'web-2-b'] }), second.memory);
    const fourth = layoutGraph(rollout({ 'web-1': [], 'web-2': ['web-2-a', 'web-2-b', 'web-2-c'] }), third.memory);
    const layouts = [first, second, third, fourth];
    for (let i = 1; i < layouts.length; i++) {
      const before = positions(layouts[i - 1]!);
      const after = positions(layouts[i]!);
      for (const [id, at] of after) {
        if (before.has(id)) expect(at, `${id} stays put in update ${i}`).toBe(before.get(id));
      }
      expect(new Set(after.values()).size, 'no two nodes share a slot').toBe(after.size);
    }
  });

  it('never moves a surviving node over a long random run of pods coming and going', () => {
    // A small deterministic generator, so a failure can be replayed.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    let sets: Record<string, string[]> = { 'web-1': ['web-1-a', 'web-1-b'] };
    let layout = layoutGraph(rollout(sets));
    let serial = 0;
    for (let step = 0; step < 60; step++) {
      const next: Record<string, string[]> = {};
      for (const [rs, pods] of Object.entries(sets)) next[rs] = pods.filter(() => rand() > 0.25);
      const rsNames = Object.keys(next);
      if (rand() > 0.8) next[`web-${rsNames.length + 1}`] = [];
      for (const rs of Object.keys(next)) if (rand() > 0.4) next[rs]!.push(`${rs}-p${serial++}`);
      const before = positions(layout);
      const after = layoutGraph(rollout(next), layout.memory);
      const now = positions(after);
      for (const [id, at] of now) if (before.has(id)) expect(at, `${id} at step ${step}`).toBe(before.get(id));
      expect(new Set(now.values()).size, `no overlap at step ${step}`).toBe(now.size);
      sets = next;
      layout = after;
    }
  }, 30_000);

  it('places a bare pod beside a 50-pod Deployment in the first free pod row, nothing else moving, without laying out the graph again', () => {
    const names = Array.from({ length: 50 }, (_, i) => `web-1-${i}`);
    const before = layoutGraph(rollout({ 'web-1': names }));
    const bare = node('pod', 'debug');
    const base = rollout({ 'web-1': names });
    const g = graph([...base.nodes, bare], base.edges);
    // A whole layout of this graph (dagre over 54 nodes) costs a software-rendered window
    // several frames; one lone newcomer needs none.
    const dagreRuns = vi.spyOn(dagre, 'layout');
    const after = layoutGraph(g, before.memory);
    expect(dagreRuns).not.toHaveBeenCalled();
    dagreRuns.mockRestore();
    const was = positions(before);
    const now = positions(after);
    for (const [id, at] of was) expect(now.get(id), id).toBe(at);
    const ys = (l: GraphLayout) => l.nodes.filter((p) => p.id.startsWith('Pod/')).map((p) => p.y);
    expect(after.nodes.find((p) => p.id === bare.id)!.y).toBe(Math.max(...ys(before)) + PITCH_Y);
  });

  it('keeps a column waiting for the pods, so the ConfigMap does not move when they come', () => {
    const dep = node('deployment', 'web');
    const rs = node('replica-set', 'web-1');
    const sa = node('service-account', 'default');
    const before = layoutGraph(graph([dep, rs, sa], [edge(dep, rs, 'owns')]));
    const pod = node('pod', 'web-1-a');
    const after = layoutGraph(graph([dep, rs, pod, sa], [edge(dep, rs, 'owns'), edge(rs, pod, 'owns'), edge(pod, sa, 'runs-as')]), before.memory);
    expect(positions(after).get(sa.id)).toBe(positions(before).get(sa.id));
    const x = (l: GraphLayout, id: string) => l.nodes.find((p) => p.id === id)!.x;
    expect(x(after, pod.id)).toBeGreaterThan(x(after, rs.id));
    expect(x(after, pod.id)).toBeLessThan(x(after, sa.id));
  });

  it('counts the rows pods left empty, which Rearrange gets back', () => {
    const first = layoutGraph(rollout({ 'web-1': ['web-1-a', 'web-1-b', 'web-1-c'] }));
    expect(spareRows(first)).toBe(0);
    const mid = layoutGraph(rollout({ 'web-1': ['web-1-a', 'web-1-b', 'web-1-c'], 'web-2': ['web-2-a', 'web-2-b', 'web-2-c'] }), first.memory);
    const done = layoutGraph(rollout({ 'web-1': [], 'web-2': ['web-2-a', 'web-2-b', 'web-2-c'] }), mid.memory);
    expect(spareRows(done)).toBeGreaterThanOrEqual(0);
    expect(spareRows(layoutGraph(rollout({ 'web-1': [], 'web-2': ['web-2-a', 'web-2-b', 'web-2-c'] })))).toBe(0);
    expect(spareRows({ nodes: [{ row: 0 }, { row: 3 }] as never })).toBe(2);
  });

  it('copes with an empty graph and with an edge to an object it does not hold', () => {
    const empty = layoutGraph(graph([], []));
    expect(empty.nodes).toEqual([]);
    expect(empty.width).toBeGreaterThan(0);
    expect(describeGraph(graph([], []))).toBe('Namespace kq-web has no objects yet.');
    const svc = node('service', 'web');
    const dangling = layoutGraph(graph([svc], [{ from: svc.id, to: 'Pod/gone', relation: 'selects', broken: true, why: 'x' }]));
    expect(dangling.edges).toEqual([]);
    expect(dangling.notes).toEqual([]);
    expect(moveFocus(empty, null, 'Home')).toBeNull();
  });

  it('does not hand a leaving node’s slot to a newcomer in the same update (it is still fading)', () => {
    const first = layoutGraph(rollout({ 'web-1': ['web-1-a', 'web-1-b'] }));
    const gone = first.nodes.find((p) => p.id === 'Pod/web-1-a')!;
    const next = layoutGraph(rollout({ 'web-1': ['web-1-b', 'web-1-z'] }), first.memory);
    const newcomer = next.nodes.find((p) => p.id === 'Pod/web-1-z')!;
    expect(`${newcomer.x},${newcomer.y}`).not.toBe(`${gone.x},${gone.y}`);
  });

  it('places a new pod next to its siblings', () => {
    const first = layoutGraph(rollout({ 'web-1': ['web-1-a', 'web-1-b'], 'web-2': ['web-2-a', 'web-2-b'] }));
    const next = layoutGraph(
      rollout({ 'web-1': ['web-1-a', 'web-1-b'], 'web-2': ['web-2-a', 'web-2-b', 'web-2-c'] }),
      first.memory,
    );
    const row = (id: string) => next.nodes.find((p) => p.id === id)!.row;
    const siblings = ['Pod/web-2-a', 'Pod/web-2-b'].map(row);
    const taken = new Set(['Pod/web-1-a', 'Pod/web-1-b', ...['Pod/web-2-a', 'Pod/web-2-b']].map(row));
    // The free pod row nearest the row under its last sibling.
    const want = Math.max(...siblings) + 1;
    const free = [...Array(10).keys()].filter((r) => !taken.has(r));
    const nearest = free.sort((a, b) => Math.abs(a - want) - Math.abs(b - want) || b - a)[0];
    expect(row('Pod/web-2-c')).toBe(nearest);
  });

  it('is deterministic and starts afresh for an unrelated graph', () => {
    const g = rollout({ 'web-1': ['web-1-a', 'web-1-b'] });
    expect(positions(layoutGraph(g))).toEqual(positions(layoutGraph(g)));
    const other = layoutGraph(rollout({ 'api-1': ['api-1-a'] }));
    const fromOld = layoutGraph(rollout({ 'api-1': ['api-1-a'] }), layoutGraph(g).memory);
    // The Service and Deployment share ids, so the memory is used; a fully new graph is not.
    const unrelated = graph([node('pod', 'solo')], []);
    expect(positions(layoutGraph(unrelated, fromOld.memory))).toEqual(positions(layoutGraph(unrelated)));
    expect(other.nodes.length).toBe(fromOld.nodes.length);
  });

  it('puts an EndpointSlice beside the controller: the traffic lane next to the ownership lane', () => {
    const g = rollout({ 'web-1': ['web-1-a'] });
    const slice = node('endpoint-slice', 'web-abcde');
    g.nodes.push(slice);
    g.edges.push(edge(g.nodes[0]!, slice, 'owns'), edge(slice, g.nodes.find((n) => n.kind === 'pod')!, 'endpoint'));
    const layout = layoutGraph(g);
    const at = (id: string) => layout.nodes.find((p) => p.id === id)!;
    expect(at(slice.id).x).toBe(at('Deployment/web').x);
    expect(at(slice.id).row).not.toBe(at('Deployment/web').row);
    expect(new Set(layout.nodes.map((p) => p.x)).size).toBe(5);
  });

  it('sets policy objects aside in a column of their own, before the Service', () => {
    const g = rollout({ 'web-1': ['web-1-a'] });
    const quota = node('resource-quota', 'compute', 'broken');
    g.nodes.push(quota);
    g.edges.push({ from: quota.id, to: 'ReplicaSet/web-1', relation: 'limits', broken: true, why: 'exceeded quota: compute' });
    const layout = layoutGraph(g);
    const x = (id: string) => layout.nodes.find((p) => p.id === id)!.x;
    expect(x(quota.id)).toBeLessThan(x('Service/web'));
  });

  it('draws edges from the right side of the source to the left side of the target, and notes broken ones once', () => {
    const svc = node('service', 'web', 'broken');
    const pods = ['a', 'b'].map((n) => node('pod', `webapp-${n}`));
    const why = 'selector app=web, pod has app=webapp';
    const layout = layoutGraph(graph([svc, ...pods], pods.map((p) => edge(svc, p, 'selects', true, why))));
    expect(layout.edges).toHaveLength(2);
    const s = layout.nodes.find((p) => p.id === svc.id)!;
    expect(layout.edges[0]!.path.startsWith(`M${s.x + 212} ${s.y + CARD_H / 2} `)).toBe(true);
    expect(layout.notes).toHaveLength(1);
    expect(layout.notes[0]!.text).toBe(why);
    expect(layout.notes[0]!.edges).toHaveLength(2);
  });
});

describe('edge routes', () => {
  it('sends a long edge with cards in its way through the gaps between rows', () => {
    const layout = layoutGraph(rollout({ 'web-1': ['web-1-a', 'web-1-b', 'web-1-c'] }));
    const selects = layout.edges.filter((e) => e.edge.relation === 'selects');
    expect(selects.length).toBe(3);
    const cards = layout.nodes.map((p) => ({ x0: p.x, x1: p.x + 212, y0: p.y, y1: p.y + CARD_H }));
    for (const e of selects) {
      // The route turns in the gaps: horizontal and vertical runs.
      const numbers = e.path.match(/-?\d+(\.\d+)?/g)!.map(Number);
      expect(e.path).toMatch(/ V/);
      // The middle, where a note would go, is in a gap between rows.
      expect(cards.some((c) => e.mid.x > c.x0 && e.mid.x < c.x1 && e.mid.y > c.y0 && e.mid.y < c.y1)).toBe(false);
      expect(numbers.length).toBeGreaterThan(10);
    }
    // Edges between neighbouring columns are plain curves.
    expect(layout.edges.find((e) => e.edge.relation === 'owns')!.path).toMatch(/^M[\d.]+ [\d.]+ C/);
  });
});

describe('keyboard navigation', () => {
  const layout = layoutGraph(rollout({ 'web-1': ['web-1-a', 'web-1-b', 'web-1-c'] }));

  it('reads column by column, top to bottom', () => {
    const order = navOrder(layout);
    expect(order[0]).toBe('Service/web');
    expect(order[order.length - 1]).toBe('ConfigMap/settings');
    expect(order.filter((id) => id.startsWith('Pod/'))).toEqual(['Pod/web-1-a', 'Pod/web-1-b', 'Pod/web-1-c'].sort((a, b) => {
      const y = (id: string) => layout.nodes.find((p) => p.id === id)!.y;
      return y(a) - y(b);
    }));
  });

  it('moves by geometry with the arrow keys, Home and End', () => {
    expect(moveFocus(layout, 'Service/web', 'ArrowRight')).toBe('Deployment/web');
    expect(moveFocus(layout, 'Deployment/web', 'ArrowRight')).toBe('ReplicaSet/web-1');
    expect(moveFocus(layout, 'ReplicaSet/web-1', 'ArrowLeft')).toBe('Deployment/web');
    expect(moveFocus(layout, 'Service/web', 'ArrowLeft')).toBeNull();
    const pods = navOrder(layout).filter((id) => id.startsWith('Pod/'));
    expect(moveFocus(layout, pods[0]!, 'ArrowDown')).toBe(pods[1]);
    expect(moveFocus(layout, pods[1]!, 'ArrowUp')).toBe(pods[0]);
    expect(moveFocus(layout, pods[2]!, 'ArrowDown')).toBeNull();
    expect(moveFocus(layout, pods[1]!, 'Home')).toBe('Service/web');
    expect(moveFocus(layout, 'Service/web', 'End')).toBe('ConfigMap/settings');
    // From the ReplicaSet, right goes to the pod nearest its row.
    const rs = layout.nodes.find((p) => p.id === 'ReplicaSet/web-1')!;
    const right = layout.nodes.find((p) => p.id === moveFocus(layout, rs.id, 'ArrowRight'))!;
    const nearest = Math.min(...layout.nodes.filter((p) => p.id.startsWith('Pod/')).map((p) => Math.abs(p.y - rs.y)));
    expect(Math.abs(right.y - rs.y)).toBe(nearest);
  });

  it('starts from the first node when nothing has focus yet', () => {
    expect(moveFocus(layout, null, 'ArrowDown')).toBe('Service/web');
  });
});

describe('describeGraph', () => {
  it('names each broken object with its why, then where to start', () => {
    const svc = node('service', 'web', 'broken');
    const dep = node('deployment', 'web', 'progressing');
    const rs = node('replica-set', 'web-1');
    const pod = node('pod', 'webapp-1', 'broken', { summary: 'CreateContainerConfigError' });
    const cm = node('config-map', 'settings', 'missing');
    const g = graph(
      [svc, dep, rs, pod, cm],
      [
        edge(svc, pod, 'selects', true, 'selector app=web, pod has app=webapp'),
        edge(dep, rs, 'owns'),
        edge(rs, pod, 'owns'),
        edge(pod, cm, 'mounts', true, 'configmap "settings" not found'),
      ],
      svc.id,
    );
    expect(describeGraph(g)).toBe(
      '3 objects broken: Service web selects no pods (selector app=web, pod has app=webapp); ' +
        'Pod webapp-1 cannot mount ConfigMap settings (configmap "settings" not found); ' +
        'ConfigMap settings is missing. 1 progressing. Start with Service web.',
    );
  });

  it('names the pods a Service misses when it selects others', () => {
    const svc = node('service', 'web');
    const a = node('pod', 'web-a');
    const b = node('pod', 'web-b');
    const g = graph([svc, a, b], [edge(svc, a, 'selects'), edge(svc, b, 'selects', true, 'pod has app=other')]);
    expect(describeGraph(g)).toBe('1 object broken: Service web does not select Pod web-b (pod has app=other).');
  });

  it('uses the evidence for a broken object without broken edges', () => {
    const dep = node('deployment', 'web', 'broken', {
      summary: '0/3 ready',
      evidence: ['status.conditions[Progressing].reason = ProgressDeadlineExceeded'],
    });
    expect(describeGraph(graph([dep], [], dep.id))).toBe(
      '1 object broken: Deployment web is broken (status.conditions[Progressing].reason = ProgressDeadlineExceeded). Start with Deployment web.',
    );
  });

  it('says when all is well', () => {
    expect(describeGraph(rollout({ 'web-1': ['web-1-a'] }))).toBe('All 5 objects are healthy.');
    const g = rollout({ 'web-1': ['web-1-a'] });
    g.nodes[3] = { ...g.nodes[3]!, health: 'terminating' };
    expect(describeGraph(g)).toBe('Nothing is broken; 4 of 5 objects are healthy. 1 terminating.');
  });
});

describe('graphAnnouncements', () => {
  const svc = node('service', 'web');
  const pod = node('pod', 'webapp-1');
  const ok = graph([svc, pod], [edge(svc, pod, 'selects')]);
  const mismatch = graph([{ ...svc, health: 'broken' }, pod], [edge(svc, pod, 'selects', true, 'selector app=web, pod has app=webapp')]);

  it('says a newly broken relation once', () => {
    expect(graphAnnouncements(ok, mismatch)).toEqual(['Service web selects no pods (selector app=web, pod has app=webapp).']);
    expect(graphAnnouncements(mismatch, mismatch)).toEqual([]);
    expect(graphAnnouncements(null, mismatch)).toHaveLength(1);
    expect(graphAnnouncements(mismatch, ok)).toEqual([]);
  });

  it('leaves broken pods and workloads to their own announcements', () => {
    const stuck = graph([node('deployment', 'web', 'broken', { evidence: ['x = ProgressDeadlineExceeded'] }), node('pod', 'web-1', 'broken')], []);
    expect(graphAnnouncements(null, stuck)).toEqual([]);
    const missing = graph([node('config-map', 'settings', 'missing', { summary: 'not found' })], []);
    expect(graphAnnouncements(null, missing)).toEqual(['ConfigMap settings is missing (not found).']);
  });
});

describe('helpers', () => {
  it('labels a node for its button', () => {
    const pod = node('pod', 'web-a', 'broken', {
      summary: 'ImagePullBackOff',
      revision: 2,
      rail: [
        { kind: 'applied', state: 'done' },
        { kind: 'scheduled', state: 'done' },
        { kind: 'image-pulled', state: 'stuck' },
      ],
    });
    expect(nodeLabel(pod)).toBe('Pod web-a, broken: ImagePullBackOff; revision 2; stuck at pull');
  });

  it('shortens evidence to its value for a card', () => {
    expect(evidenceValue('status.conditions[Progressing].reason = ProgressDeadlineExceeded')).toBe('ProgressDeadlineExceeded');
    expect(evidenceValue('status.conditions[1].reason: ProgressDeadlineExceeded')).toBe('ProgressDeadlineExceeded');
    expect(evidenceValue('exceeded quota: compute, requested: pods=1')).toBe('exceeded quota: compute, requested: pods=1');
    expect(evidenceValue('endpoints: []')).toBe('endpoints: []');
  });

  it('shortens a long name in the middle, keeping the pod’s suffix', () => {
    expect(shortName('web-5476c4d669-7gj76', 18)).toBe('web-5476c4d…-7gj76');
    expect(shortName('web-5476c4d669-7gj76', 18)).toHaveLength(18);
    expect(shortName('web', 18)).toBe('web');
    expect(shortName('a-very-long-configmap-name-without-suffix', 16)).toHaveLength(16);
  });

  it('shows the graph first for workload missions only', () => {
    expect(graphFirst(null)).toBe(false);
    expect(graphFirst(graph([node('pod', 'web'), node('config-map', 'settings')], []))).toBe(false);
    expect(graphFirst(rollout({ 'web-1': ['web-1-a'] }))).toBe(true);
  });

  it('finds a pod’s scheduling view and an object’s events', () => {
    const pod = node('pod', 'big');
    const g = graph([pod], []);
    g.scheduling = [{ pod: 'big', source: 'filters', nodes: [], message: null }];
    expect(schedulingFor(g, pod)?.pod).toBe('big');
    expect(schedulingFor(g, node('deployment', 'big'))).toBeNull();
    const row = { type: 'Normal', reason: 'ScalingReplicaSet', message: 'm', count: 1, firstSeen: null, lastSeen: null, lastTimestamp: null, from: 'deployment-controller', container: null };
    const events = [
      { ...row, object: 'deployment/web' },
      { ...row, object: 'replicaset/web-1' },
      { ...row, object: 'pod/web' },
    ];
    expect(eventsFor(events, node('replica-set', 'web-1')).map((e) => e.object)).toEqual(['replicaset/web-1']);
    expect(eventsFor(events, node('deployment', 'web')).map((e) => e.object)).toEqual(['deployment/web']);
  });
});

describe('details: conditions and YAML', () => {
  it('names the object as kubectl does in the YAML command', () => {
    expect(yamlCommand(node('deployment', 'web'), 'kq-web')).toBe('kubectl get deployment web -n kq-web -o yaml');
    expect(yamlCommand(node('persistent-volume-claim', 'data'), 'kq-db')).toBe('kubectl get persistentvolumeclaim data -n kq-db -o yaml');
    expect(yamlCommand(node('replica-set', 'web-7d9c'), 'kq-web')).toBe('kubectl get replicaset web-7d9c -n kq-web -o yaml');
  });

  it('calls False bad for the usual conditions and True bad for the failure ones', () => {
    expect(conditionIsBad({ type: 'Progressing', status: 'False' })).toBe(true);
    expect(conditionIsBad({ type: 'Available', status: 'True' })).toBe(false);
    expect(conditionIsBad({ type: 'ReplicaFailure', status: 'True' })).toBe(true);
    expect(conditionIsBad({ type: 'Failed', status: 'False' })).toBe(false);
    expect(conditionIsBad({ type: 'Ready', status: 'Unknown' })).toBe(false);
  });
});

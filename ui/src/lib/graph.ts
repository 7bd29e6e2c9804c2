// The workload graph's view model: where each object of the mission namespace sits, how the
// edges between them are drawn, how the keyboard moves between them and what a screen reader
// hears about them. Pure functions of `WorkloadGraph` values (and the previous layout), so
// every update sequence can be tested without a window.
//
// Layout: one column per layer, left to right (namespace policy aside, then Service →
// EndpointSlice beside the controller → ReplicaSet/Job → Pod → ConfigMap/Secret/PVC/SA),
// one row per slot. The first layout takes each column's order from dagre's crossing
// minimisation (ranks fixed to the layers); after that a node keeps its slot for as long as it
// lives, and only new nodes are placed, in the free slot nearest their neighbours (a newcomer
// with none: nearest the top, in dagre's order among the newcomers). A column,
// once used, stays, so nothing jumps when the last pod of a revision goes away.

import dagre from '@dagrejs/dagre';
import type { EventRow } from './bindings/EventRow';
import type { GraphCondition } from './bindings/GraphCondition';
import type { GraphEdge } from './bindings/GraphEdge';
import type { GraphKind } from './bindings/GraphKind';
import type { GraphNode } from './bindings/GraphNode';
import type { Health } from './bindings/Health';
import type { Relation } from './bindings/Relation';
import type { SchedulingView } from './bindings/SchedulingView';
import type { StageKind } from './bindings/StageKind';
import type { WorkloadGraph } from './bindings/WorkloadGraph';

export const CARD_W = 212;
export const CARD_H = 86;
export const COL_GAP = 76;
export const ROW_GAP = 34;
export const PAD = 36;
export const PITCH_X = CARD_W + COL_GAP;
export const PITCH_Y = CARD_H + ROW_GAP;

/** The namespace's policy objects (quotas, limit ranges) stand aside, left of everything. */
export const ASIDE = -1;

const LAYERS: Record<GraphKind, number> = {
  'resource-quota': ASIDE,
  'limit-range': ASIDE,
  service: 0,
  // The traffic lane (Service → EndpointSlice → pods) and the ownership lane (controller →
  // ReplicaSet → pods) run side by side: an EndpointSlice shares the controllers' column, which
  // keeps a full workload to five columns (readable at 1280 px without scrolling).
  'endpoint-slice': 2,
  deployment: 2,
  'stateful-set': 2,
  'daemon-set': 2,
  'cron-job': 2,
  'replica-set': 3,
  job: 3,
  pod: 4,
  'config-map': 5,
  secret: 5,
  'persistent-volume-claim': 5,
  'service-account': 5,
};

export const layerOf = (kind: GraphKind): number => LAYERS[kind];

/** The layers of the main flow, left to right. */
const MAIN_LAYERS = [...new Set(Object.values(LAYERS))].filter((l) => l !== ASIDE).sort((a, b) => a - b);

const KIND_LABELS: Record<GraphKind, string> = {
  service: 'Service',
  'endpoint-slice': 'EndpointSlice',
  deployment: 'Deployment',
  'stateful-set': 'StatefulSet',
  'daemon-set': 'DaemonSet',
  'cron-job': 'CronJob',
  job: 'Job',
  'replica-set': 'ReplicaSet',
  pod: 'Pod',
  'config-map': 'ConfigMap',
  secret: 'Secret',
  'persistent-volume-claim': 'PersistentVolumeClaim',
  'service-account': 'ServiceAccount',
  'resource-quota': 'ResourceQuota',
  'limit-range': 'LimitRange',
};

export const kindLabel = (kind: GraphKind): string => KIND_LABELS[kind];

/** `kubectl`'s resource name for the kind, as event rows name their object (`replicaset/web-7f`). */
export const resourceName = (kind: GraphKind): string => kind.replaceAll('-', '');

const HEALTH_WORDS: Record<Health, string> = {
  ok: 'healthy',
  progressing: 'progressing',
  broken: 'broken',
  missing: 'missing',
  terminating: 'terminating',
};

export const healthWord = (health: Health): string => HEALTH_WORDS[health];

const RELATION_LABELS: Record<Relation, string> = {
  owns: 'owns',
  selects: 'selects',
  endpoint: 'endpoint',
  mounts: 'mounts',
  env: 'env from',
  'runs-as': 'runs as',
  limits: 'limits',
  'pull-secret': 'pull secret',
};

export const relationLabel = (relation: Relation): string => RELATION_LABELS[relation];

/** What a broken relation means, as a verb phrase between the two objects. */
const BROKEN_VERBS: Record<Relation, string> = {
  owns: 'cannot create',
  selects: 'does not select',
  endpoint: 'has no ready endpoint for',
  mounts: 'cannot mount',
  env: 'cannot read its environment from',
  'runs-as': 'cannot run as',
  limits: 'refuses',
  'pull-secret': 'cannot pull with',
};

const RAIL_LABELS: Record<StageKind, string> = {
  applied: 'apply',
  scheduled: 'schedule',
  init: 'init',
  'image-pulled': 'pull',
  'container-created': 'create',
  running: 'run',
  ready: 'ready',
};

export const railLabel = (kind: StageKind): string => RAIL_LABELS[kind];

/**
 * The part of an evidence line a small card has room for: the value of a `path = value` line
 * (`ProgressDeadlineExceeded`), else the line.
 */
export function evidenceValue(line: string): string {
  // `status.conditions[1].reason: ProgressDeadlineExceeded` or `… = …`: a field path, no spaces.
  const m = /^(\S+?)(?::| =) (.+)$/.exec(line);
  return m && m[1] && m[2] && /[.[]/.test(m[1]) ? m[2] : line;
}

/**
 * A name shortened in the middle to `max` characters, keeping its last dash-separated part
 * (a pod's random suffix tells it from its siblings): `web-5476c4d…-7gj76`.
 */
export function shortName(name: string, max: number): string {
  if (name.length <= max) return name;
  const dash = name.lastIndexOf('-');
  const tail = dash > 0 && name.length - dash <= 8 ? name.slice(dash) : name.slice(-Math.floor((max - 1) / 2));
  return `${name.slice(0, Math.max(1, max - 1 - tail.length))}…${tail}`;
}

/** `Pod web-7f9c-abcde`, as sentences name an object. */
export const objectName = (node: Pick<GraphNode, 'kind' | 'name'>): string => `${kindLabel(node.kind)} ${node.name}`;

// ---- layout -------------------------------------------------------------------------------

export interface Slot {
  layer: number;
  row: number;
}

/** What a layout remembers for the next one: every node's slot and the columns in use. */
export interface LayoutMemory {
  slots: ReadonlyMap<string, Slot>;
  layers: readonly number[];
}

export interface PlacedNode {
  id: string;
  node: GraphNode;
  layer: number;
  /** The column it stands in, 0 from the left. */
  column: number;
  row: number;
  /** Top-left corner, in graph units. */
  x: number;
  y: number;
}

export interface PlacedEdge {
  key: string;
  edge: GraphEdge;
  /** The SVG path, from the source's right side to the target's left side. */
  path: string;
  /** The path's middle. */
  mid: { x: number; y: number };
}

/** A broken relation's why, shown once per source, relation and reason, in the gap between rows. */
export interface EdgeNote {
  key: string;
  from: string;
  relation: Relation;
  text: string;
  /** Keys of the edges the note speaks for. */
  edges: string[];
  /** Centre of the note, in graph units. */
  x: number;
  y: number;
}

export interface GraphLayout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  notes: EdgeNote[];
  width: number;
  height: number;
  memory: LayoutMemory;
}

export const edgeKey = (e: Pick<GraphEdge, 'from' | 'to' | 'relation'>): string => `${e.from}→${e.to}:${e.relation}`;

/**
 * Dagre's row for each node, its ranks fixed to the layers: the order its crossing
 * minimisation finds, as whole rows of PITCH_Y.
 */
export function dagreRows(graph: WorkloadGraph): Map<string, number> {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({
    rankdir: 'LR',
    nodesep: ROW_GAP,
    ranksep: COL_GAP,
    // Ranks come from the layers (doubled: dagre halves its rank gap to make room for edge
    // labels); anything dagre adds itself (its nesting root) goes before the first layer.
    ranker: ((lg: { nodes(): string[]; node(v: string): { rank?: number } }) => {
      for (const v of lg.nodes()) {
        const label = lg.node(v);
        label.rank = typeof label.rank === 'number' ? (label.rank + 1) * 2 : 0;
      }
    }) as unknown as 'network-simplex',
  });
  g.setDefaultEdgeLabel(() => ({}));
  const layer = new Map<string, number>();
  for (const n of graph.nodes) {
    layer.set(n.id, layerOf(n.kind));
    g.setNode(n.id, { width: CARD_W, height: CARD_H, rank: layerOf(n.kind) });
  }
  for (const e of graph.edges) {
    const a = layer.get(e.from);
    const b = layer.get(e.to);
    if (a === undefined || b === undefined || b <= a) continue;
    g.setEdge(e.from, e.to, {}, edgeKey(e));
  }
  dagre.layout(g);
  const rows = new Map<string, number>();
  for (const n of graph.nodes) {
    const y = (g.node(n.id) as { y?: number } | undefined)?.y ?? CARD_H / 2;
    rows.set(n.id, Math.max(0, Math.round((y - CARD_H / 2) / PITCH_Y)));
  }
  return rows;
}

/** The free row nearest `ideal` (below first on a tie), never above row 0. */
function nearestFree(taken: Set<number>, ideal: number): number {
  const start = Math.max(0, Math.round(ideal));
  for (let d = 0; ; d++) {
    if (!taken.has(start + d)) return start + d;
    if (d > 0 && start - d >= 0 && !taken.has(start - d)) return start - d;
  }
}

/**
 * Places the graph. With `memory` from the previous layout every node that is still there
 * keeps its slot; the slots of nodes that just left stay reserved for this layout (they are
 * fading out), and new nodes take the free slot nearest the mean row of their placed
 * neighbours; a newcomer with none takes dagre's row among the newcomers (the top, alone).
 */
export function layoutGraph(graph: WorkloadGraph, memory: LayoutMemory | null = null): GraphLayout {
  const ids = new Set(graph.nodes.map((n) => n.id));
  // A graph with nothing in common with the last one (a reset, another mission) starts afresh.
  const previous = memory && [...memory.slots.keys()].some((id) => ids.has(id)) ? memory : null;

  const slots = new Map<string, Slot>();
  const taken = new Map<number, Set<number>>();
  const take = (slot: Slot) => {
    let rows = taken.get(slot.layer);
    if (!rows) taken.set(slot.layer, (rows = new Set()));
    rows.add(slot.row);
  };
  let ghostBottom = -1;
  if (previous) {
    for (const [id, slot] of previous.slots) {
      take(slot);
      if (ids.has(id)) slots.set(id, slot);
      else ghostBottom = Math.max(ghostBottom, slot.row);
    }
  }

  const fresh = graph.nodes.filter((n) => !slots.has(n.id));
  if (fresh.length > 0) {
    // Dagre runs on the whole graph for a first layout. Later, a newcomer with no placed
    // neighbour takes its row from dagre run on the newcomers alone (their order among
    // themselves): laying out every card again for one bare pod beside a 50-pod Deployment
    // costs more than the frame the learner waits for.
    let dagreMemo: Map<string, number> | null = null;
    const dagreRow = (id: string): number => (dagreMemo ??= dagreRows(graph)).get(id) ?? 0;
    let freshMemo: Map<string, number> | null = null;
    const freshRow = (id: string): number => {
      if (!freshMemo) {
        const freshIds = new Set(fresh.map((n) => n.id));
        const edges = graph.edges.filter((e) => freshIds.has(e.from) && freshIds.has(e.to));
        freshMemo = fresh.length === 1 ? new Map([[id, 0]]) : dagreRows({ ...graph, nodes: fresh, edges });
      }
      return freshMemo.get(id) ?? 0;
    };
    const neighbours = new Map<string, string[]>();
    const owner = new Map<string, string>();
    const children = new Map<string, string[]>();
    for (const e of graph.edges) {
      neighbours.set(e.from, [...(neighbours.get(e.from) ?? []), e.to]);
      neighbours.set(e.to, [...(neighbours.get(e.to) ?? []), e.from]);
      if (e.relation === 'owns') {
        owner.set(e.to, e.from);
        children.set(e.from, [...(children.get(e.from) ?? []), e.to]);
      }
    }
    /** Where a newcomer belongs: under its placed siblings (or beside its owner), else among its neighbours. */
    const idealRow = (id: string): number | null => {
      const parent = owner.get(id);
      const parentSlot = parent === undefined ? undefined : slots.get(parent);
      if (parent !== undefined && parentSlot) {
        const siblings = (children.get(parent) ?? [])
          .filter((c) => c !== id)
          .map((c) => slots.get(c)?.row)
          .filter((r): r is number => r !== undefined);
        return siblings.length > 0 ? Math.max(...siblings) + 1 : parentSlot.row;
      }
      const placed = (neighbours.get(id) ?? []).map((n) => slots.get(n)?.row).filter((r): r is number => r !== undefined);
      return placed.length > 0 ? placed.reduce((s, r) => s + r, 0) / placed.length : null;
    };
    const order = [...fresh].sort(
      (a, b) =>
        layerOf(a.kind) - layerOf(b.kind) || (previous ? 0 : dagreRow(a.id) - dagreRow(b.id)) || a.id.localeCompare(b.id),
    );
    for (const n of order) {
      const layer = layerOf(n.kind);
      const ideal = previous ? (idealRow(n.id) ?? freshRow(n.id)) : dagreRow(n.id);
      const row = nearestFree(taken.get(layer) ?? new Set(), ideal);
      const slot = { layer, row };
      slots.set(n.id, slot);
      take(slot);
    }
  }

  // Columns: every layer between the first and the last in use (an empty Pod column waits
  // between the ReplicaSets and the ConfigMaps for the pods to come), and the policy column when
  // a quota or limit range is there; once shown, a column stays.
  const used = new Set([...(previous?.layers ?? []), ...graph.nodes.map((n) => layerOf(n.kind))]);
  const main = [...used].filter((l) => l !== ASIDE);
  const lo = Math.min(...main);
  const hi = Math.max(...main);
  const layers = [
    ...(used.has(ASIDE) ? [ASIDE] : []),
    ...(main.length > 0 ? MAIN_LAYERS.filter((l) => l >= lo && l <= hi) : []),
  ];
  const column = new Map(layers.map((l, i) => [l, i]));

  const nodes: PlacedNode[] = graph.nodes.map((node) => {
    const slot = slots.get(node.id) ?? { layer: layerOf(node.kind), row: 0 };
    return {
      id: node.id,
      node,
      layer: slot.layer,
      column: column.get(slot.layer) ?? 0,
      row: slot.row,
      x: PAD + (column.get(slot.layer) ?? 0) * PITCH_X,
      y: PAD + slot.row * PITCH_Y,
    };
  });
  const byId = new Map(nodes.map((p) => [p.id, p]));
  const occupied = new Set(nodes.map((p) => `${p.column}:${p.row}`));

  const edges: PlacedEdge[] = [];
  for (const edge of graph.edges) {
    const a = byId.get(edge.from);
    const b = byId.get(edge.to);
    if (!a || !b) continue;
    edges.push({ key: edgeKey(edge), edge, ...edgePath(a, b, occupied) });
  }

  const maxRow = Math.max(ghostBottom, ...nodes.map((p) => p.row), 0);
  const width = PAD * 2 + Math.max(1, layers.length) * PITCH_X - COL_GAP;
  const height = PAD * 2 + (maxRow + 1) * PITCH_Y - ROW_GAP;
  const notes = edgeNotes(edges, width);
  return { nodes, edges, notes, width, height, memory: { slots, layers } };
}

/** Whether a card stands between two columns, in the rows from one row to the other. */
function blocked(a: PlacedNode, b: PlacedNode, occupied: ReadonlySet<string>): boolean {
  const [top, bottom] = a.row <= b.row ? [a.row, b.row] : [b.row, a.row];
  for (let c = a.column + 1; c < b.column; c++) {
    for (let r = top; r <= bottom; r++) if (occupied.has(`${c}:${r}`)) return true;
  }
  return false;
}

/** Rounded corners of the orthogonal routes through the gaps. */
const R = 10;

function edgePath(a: PlacedNode, b: PlacedNode, occupied: ReadonlySet<string>): { path: string; mid: { x: number; y: number } } {
  const y1 = a.y + CARD_H / 2;
  const y2 = b.y + CARD_H / 2;
  if (b.column > a.column + 1 && blocked(a, b, occupied)) {
    // A long edge with cards in its way runs in the gaps: down (or up) the gap after its
    // source's column into the band between two rows, along it, and down the gap before its
    // target's column. The band is free of cards in every column.
    const band = b.row > a.row ? a.y + CARD_H + ROW_GAP / 2 : a.y - ROW_GAP / 2;
    const gx1 = a.x + CARD_W + COL_GAP / 2;
    const gx2 = b.x - COL_GAP / 2;
    const s1 = Math.sign(band - y1);
    const s2 = Math.sign(y2 - band);
    const path =
      `M${a.x + CARD_W} ${y1} H${gx1 - R} Q${gx1} ${y1} ${gx1} ${y1 + s1 * R} V${band - s1 * R} Q${gx1} ${band} ${gx1 + R} ${band}` +
      ` H${gx2 - R} Q${gx2} ${band} ${gx2} ${band + s2 * R} V${y2 - s2 * R} Q${gx2} ${y2} ${gx2 + R} ${y2} H${b.x}`;
    return { path, mid: { x: (gx1 + gx2) / 2, y: band } };
  }
  if (b.x > a.x) {
    const x1 = a.x + CARD_W;
    const x2 = b.x;
    const bend = Math.max(36, (x2 - x1) * 0.45);
    const path = `M${x1} ${y1} C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}`;
    return { path, mid: { x: (x1 + x2) / 2, y: (y1 + y2) / 2 } };
  }
  // Same column (or backwards): a loop out of the right side of both.
  const x1 = a.x + CARD_W;
  const x2 = b.x + CARD_W;
  const reach = Math.max(x1, x2) + COL_GAP * 0.45;
  const path = `M${x1} ${y1} C${reach} ${y1} ${reach} ${y2} ${x2} ${y2}`;
  return { path, mid: { x: reach - 8, y: (y1 + y2) / 2 } };
}

/** One note per source, relation and why, in the gap between rows nearest the first edge's middle. */
function edgeNotes(edges: PlacedEdge[], width: number): EdgeNote[] {
  const notes = new Map<string, EdgeNote>();
  for (const placed of edges) {
    const { edge } = placed;
    if (!edge.broken) continue;
    const text = edge.why ?? `${relationLabel(edge.relation)}: broken`;
    const key = `${edge.from}:${edge.relation}:${text}`;
    const known = notes.get(key);
    if (known) {
      known.edges.push(placed.key);
      continue;
    }
    const gap = Math.max(-1, Math.round((placed.mid.y - PAD - CARD_H - ROW_GAP / 2) / PITCH_Y));
    const y = PAD + gap * PITCH_Y + CARD_H + ROW_GAP / 2;
    const x = Math.min(Math.max(placed.mid.x, PAD + 150), width - PAD - 150);
    notes.set(key, { key, from: edge.from, relation: edge.relation, text, edges: [placed.key], x, y });
  }
  return [...notes.values()];
}

/**
 * How many rows the graph could lose: rows above the bottom that no node uses in any column
 * (left behind by pods that went). When there are some, "Rearrange" is worth offering.
 */
export function spareRows(layout: Pick<GraphLayout, 'nodes'>): number {
  const rows = new Set(layout.nodes.map((p) => p.row));
  const bottom = Math.max(-1, ...rows);
  let spare = 0;
  for (let r = 0; r < bottom; r++) if (!rows.has(r)) spare++;
  return spare;
}

// ---- keyboard -----------------------------------------------------------------------------

/** Reading order: column by column, top to bottom. */
export function navOrder(layout: Pick<GraphLayout, 'nodes'>): string[] {
  return [...layout.nodes].sort((a, b) => a.x - b.x || a.y - b.y || a.id.localeCompare(b.id)).map((p) => p.id);
}

export type NavKey = 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown' | 'Home' | 'End';

export const isNavKey = (key: string): key is NavKey =>
  key === 'ArrowLeft' || key === 'ArrowRight' || key === 'ArrowUp' || key === 'ArrowDown' || key === 'Home' || key === 'End';

/**
 * Where a key moves the focus from `current`, by geometry: Left/Right to the nearest column
 * that way (then the nearest row in it, the upper one on a tie), Up/Down within the column,
 * Home/End to the first/last node in reading order. Null: nowhere to go (stay).
 */
export function moveFocus(layout: Pick<GraphLayout, 'nodes'>, current: string | null, key: NavKey): string | null {
  const order = navOrder(layout);
  if (order.length === 0) return null;
  if (key === 'Home') return order[0] ?? null;
  if (key === 'End') return order[order.length - 1] ?? null;
  const here = layout.nodes.find((p) => p.id === current);
  if (!here) return order[0] ?? null;
  const candidates = layout.nodes.filter((p) => {
    switch (key) {
      case 'ArrowRight':
        return p.x > here.x;
      case 'ArrowLeft':
        return p.x < here.x;
      case 'ArrowDown':
        return p.x === here.x && p.y > here.y;
      case 'ArrowUp':
        return p.x === here.x && p.y < here.y;
    }
  });
  const best = candidates.sort(
    (a, b) => Math.abs(a.x - here.x) - Math.abs(b.x - here.x) || Math.abs(a.y - here.y) - Math.abs(b.y - here.y) || a.y - b.y,
  )[0];
  return best?.id ?? null;
}

// ---- words --------------------------------------------------------------------------------

const isBroken = (n: GraphNode) => n.health === 'broken' || n.health === 'missing';

interface Clause {
  /** The object it is about, and for a broken relation the relation. */
  key: string;
  text: string;
}

/** One clause per broken object: its broken relations (by relation), else its own state. */
function brokenClauses(graph: WorkloadGraph): Clause[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const out = new Map<string, GraphEdge[]>();
  for (const e of graph.edges) out.set(e.from, [...(out.get(e.from) ?? []), e]);

  const clauses: Clause[] = [];
  for (const node of graph.nodes) {
    const edges = out.get(node.id) ?? [];
    const broken = edges.filter((e) => e.broken);
    if (broken.length === 0) {
      if (!isBroken(node)) continue;
      const why = node.evidence[0] ?? node.summary;
      clauses.push({ key: node.id, text: `${objectName(node)} is ${healthWord(node.health)}${why ? ` (${why})` : ''}` });
      continue;
    }
    const relations = [...new Set(broken.map((e) => e.relation))];
    for (const relation of relations) {
      const these = broken.filter((e) => e.relation === relation);
      const all = edges.filter((e) => e.relation === relation);
      const whys = [...new Set(these.map((e) => e.why).filter((w): w is string => !!w))];
      const because = whys.length > 0 ? ` (${whys.join('; ')})` : '';
      const key = `${node.id}:${relation}`;
      if (relation === 'selects' && these.length === all.length) {
        clauses.push({ key, text: `${objectName(node)} selects no pods${because}` });
      } else {
        const targets = these.map((e) => {
          const t = byId.get(e.to);
          return t ? objectName(t) : e.to;
        });
        clauses.push({ key, text: `${objectName(node)} ${BROKEN_VERBS[relation]} ${targets.join(', ')}${because}` });
      }
    }
  }
  return clauses;
}

/**
 * What the live region says when a graph arrives: each newly broken relation, and each newly
 * broken object the pod rails and workload cards do not already announce (Services, slices,
 * ConfigMaps, Secrets, claims, accounts, quotas). At most three sentences.
 */
export function graphAnnouncements(before: WorkloadGraph | null, after: WorkloadGraph): string[] {
  const known = new Set(before ? brokenClauses(before).map((c) => c.key) : []);
  const announced = new Set<GraphKind>(['pod', 'replica-set', 'deployment', 'stateful-set', 'daemon-set', 'job', 'cron-job']);
  const kindOf = new Map(after.nodes.map((n) => [n.id, n.kind]));
  return brokenClauses(after)
    .filter((c) => !known.has(c.key))
    .filter((c) => c.key.includes(':') || !announced.has(kindOf.get(c.key) ?? 'pod'))
    .slice(0, 3)
    .map((c) => `${c.text}.`);
}

/** The graph in one paragraph for screen readers: what is broken and why, then the rest. */
export function describeGraph(graph: WorkloadGraph): string {
  if (graph.nodes.length === 0) return `Namespace ${graph.namespace} has no objects yet.`;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const clauses = brokenClauses(graph).map((c) => c.text);

  const sentences: string[] = [];
  const n = clauses.length;
  if (n > 0) sentences.push(`${n} ${n === 1 ? 'object' : 'objects'} broken: ${clauses.join('; ')}.`);
  const count = (h: Health) => graph.nodes.filter((x) => x.health === h).length;
  const rest = (['progressing', 'terminating'] as const).filter((h) => count(h) > 0).map((h) => `${count(h)} ${h}`);
  if (n === 0) {
    const ok = count('ok');
    sentences.push(
      ok === graph.nodes.length
        ? `All ${graph.nodes.length} ${graph.nodes.length === 1 ? 'object is' : 'objects are'} healthy.`
        : `Nothing is broken; ${ok} of ${graph.nodes.length} objects are healthy.`,
    );
  }
  if (rest.length > 0) sentences.push(`${rest.join(', ')}.`);
  const focus = graph.focus ? byId.get(graph.focus) : undefined;
  if (focus) sentences.push(`Start with ${objectName(focus)}.`);
  return sentences.join(' ');
}

/** What a node's button says: `Pod web-1, broken: CrashLoopBackOff, 4 restarts; stuck at run`. */
export function nodeLabel(node: GraphNode): string {
  const parts = [`${objectName(node)}, ${healthWord(node.health)}`];
  if (node.summary) parts[0] += `: ${node.summary}`;
  if (node.revision !== null) parts.push(`revision ${node.revision}`);
  const stop = node.rail.find((s) => s.state === 'stuck' || s.state === 'failed');
  if (stop) parts.push(`${stop.state} at ${railLabel(stop.kind)}`);
  else if (node.rail.length > 0 && node.rail.every((s) => s.state === 'done')) parts.push('every stage done');
  return parts.join('; ');
}

// ---- the mission screen's rules ----------------------------------------------------------------

const WORKLOAD_KINDS = new Set<GraphKind>([
  'service',
  'endpoint-slice',
  'deployment',
  'stateful-set',
  'daemon-set',
  'cron-job',
  'job',
  'replica-set',
]);

/**
 * Whether the graph is the mission screen's main view: it holds a controller or a Service
 * (a workload mission). A lone pod, even with its ConfigMap, keeps the pod rail.
 */
export const graphFirst = (graph: WorkloadGraph | null): boolean => !!graph && graph.nodes.some((n) => WORKLOAD_KINDS.has(n.kind));

/** The scheduler's table for a Pending pod, if the engine sent one. */
export const schedulingFor = (graph: WorkloadGraph, node: GraphNode): SchedulingView | null =>
  node.kind === 'pod' ? (graph.scheduling.find((s) => s.pod === node.name) ?? null) : null;

/** The events about one object (`kubectl describe`'s Events), newest last as the table has them. */
export const eventsFor = (events: readonly EventRow[], node: Pick<GraphNode, 'kind' | 'name'>): EventRow[] => {
  const object = `${resourceName(node.kind)}/${node.name}`.toLowerCase();
  return events.filter((e) => e.object.toLowerCase() === object);
};

/** The command that prints what the details' YAML section shows: `kubectl get deployment web -n kq-web -o yaml`. */
export const yamlCommand = (node: Pick<GraphNode, 'kind' | 'name'>, namespace: string): string =>
  `kubectl get ${resourceName(node.kind)} ${node.name} -n ${namespace} -o yaml`;

/** Condition types whose `True` is the trouble (`ReplicaFailure`, a Job's `Failed`); for the others, `False` is. */
const NEGATIVE_CONDITIONS = new Set(['ReplicaFailure', 'Failed', 'FailureTarget', 'DisruptionTarget', 'Resizing', 'FileSystemResizePending']);

/** Whether a condition says something is wrong (`Progressing False`, `ReplicaFailure True`); `Unknown` is not. */
export const conditionIsBad = (c: Pick<GraphCondition, 'type' | 'status'>): boolean =>
  NEGATIVE_CONDITIONS.has(c.type) ? c.status === 'True' : c.status === 'False';

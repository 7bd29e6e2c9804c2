// The live objectives checklist: the mission's objectives in their own order, each with the
// latest result (or "waiting" before the first evaluation), and the words for each status.

import type { ObjectiveInfo } from './bindings/ObjectiveInfo';
import type { ObjectiveResult } from './bindings/ObjectiveResult';
import type { ObjectiveStatus } from './bindings/ObjectiveStatus';

export interface ObjectiveItem {
  id: string;
  title: string;
  status: ObjectiveStatus;
  statusLabel: string;
  reason: string | null;
}

const LABELS: Record<ObjectiveStatus, string> = { met: 'Met', 'not-met': 'Not met yet', waiting: 'Checking' };

export const objectiveStatusLabel = (status: ObjectiveStatus): string => LABELS[status];

/** Objectives in the mission's order; results for unknown ids are appended after them. */
export function objectiveItems(infos: readonly ObjectiveInfo[], results: readonly ObjectiveResult[] | null): ObjectiveItem[] {
  const byId = new Map((results ?? []).map((r) => [r.id, r]));
  const items: ObjectiveItem[] = infos.map((info) => {
    const r = byId.get(info.id);
    const status = r?.status ?? 'waiting';
    return { id: info.id, title: r?.title ?? info.title, status, statusLabel: LABELS[status], reason: r?.reason ?? null };
  });
  const known = new Set(infos.map((i) => i.id));
  for (const r of results ?? []) {
    if (!known.has(r.id)) items.push({ id: r.id, title: r.title, status: r.status, statusLabel: LABELS[r.status], reason: r.reason });
  }
  return items;
}

/** `1 of 3 met` */
export function objectivesSummary(items: readonly ObjectiveItem[]): string {
  return `${items.filter((i) => i.status === 'met').length} of ${items.length} met`;
}

/** Splits a title on backticks so `web` can be shown as code without parsing any HTML. */
export function codeSpans(text: string): { text: string; code: boolean }[] {
  const parts = text.split('`');
  // An odd count of backticks leaves the last one unmatched: show it as written.
  if (parts.length % 2 === 0) return [{ text, code: false }];
  return parts.map((part, i) => ({ text: part, code: i % 2 === 1 })).filter((p) => p.text !== '');
}

// The personal debrief as the window shows it: the diff of each changed object split into lines
// the screen can colour (and a screen reader can name), and the learner's commands in the three
// groups of the fix. Pure, so it is tested without a window.

import type { CommandCount } from './bindings/CommandCount';
import type { CommandGroup } from './bindings/CommandGroup';
import type { PersonalDebrief } from './bindings/PersonalDebrief';

export type DiffLineKind = 'added' | 'removed' | 'context' | 'hunk' | 'header';

export interface DiffLine {
  kind: DiffLineKind;
  /** The line without its leading `+`, `-` or space. */
  text: string;
  /** What a screen reader says before the line. */
  label: string;
}

/** Splits a unified diff (`--- broken` / `+++ yours`) into typed lines. */
export function diffLines(diff: string): DiffLine[] {
  return diff
    .split('\n')
    .filter((line, i, all) => !(line === '' && i === all.length - 1))
    .map((line): DiffLine => {
      if (line.startsWith('--- ') || line.startsWith('+++ ')) return { kind: 'header', text: line, label: '' };
      if (line.startsWith('@@')) return { kind: 'hunk', text: line, label: '' };
      if (line.startsWith('+')) return { kind: 'added', text: line.slice(1), label: 'added: ' };
      if (line.startsWith('-')) return { kind: 'removed', text: line.slice(1), label: 'removed: ' };
      return { kind: 'context', text: line.startsWith(' ') ? line.slice(1) : line, label: '' };
    })
    .filter((l) => l.kind !== 'header');
}

const GROUPS: { group: CommandGroup; title: string; hint: string }[] = [
  { group: 'looked', title: 'Looked', hint: 'what you read before your last change' },
  { group: 'changed', title: 'Changed', hint: 'what changed the cluster' },
  { group: 'verified', title: 'Verified', hint: 'what you read after your last change' },
];

export interface CommandSection {
  group: CommandGroup;
  title: string;
  hint: string;
  commands: CommandCount[];
}

/** The learner's commands in the order of a fix (looked, changed, verified), empty groups left out. */
export function commandSections(commands: readonly CommandCount[]): CommandSection[] {
  return GROUPS.map((g) => ({ ...g, commands: commands.filter((c) => c.group === g.group) })).filter(
    (s) => s.commands.length > 0,
  );
}

/** `×3` for a command run three times, nothing for one run; refused runs are named. */
export function countLabel(c: CommandCount): string {
  const parts: string[] = [];
  if (c.count > 1) parts.push(`×${c.count}`);
  if (c.failed > 0) parts.push(c.failed === c.count ? 'refused' : `${c.failed} refused`);
  return parts.join(' · ');
}

/** The time to fix as people say it (`40 s`, `2 min 5 s`, `1 h 3 min`). */
export function timeToFix(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return rest > 0 ? `${m} min ${rest} s` : `${m} min`;
  return `${rest} s`;
}

/** The sentence on why the learner's fix and the reference one both work, when they differ. */
export function whyBothWork(d: PersonalDebrief): string | null {
  if (d.matchesReference) return null;
  return `Your objects differ from the reference fix below, and both work: the mission checks outcomes, not one particular fix. What was checked: ${d.objectives.map((o) => o.replaceAll('`', '')).join('; ')}.`;
}

/** The objects the learner changed or replaced (unchanged ones are not news). */
export function changedObjects(d: PersonalDebrief) {
  return d.changes.filter((c) => c.outcome !== 'unchanged');
}

// The mission map's view model: which missions are open, which are locked and what unlocks
// them, and the words the map uses for stages and difficulties.
//
// Everything here is a pure function of the mission list and the set of solved mission ids,
// so the map is the same whether progress comes from disk, from a test or from nowhere yet.

import type { MissionProgress } from './bindings/MissionProgress';
import type { MissionSummary } from './bindings/MissionSummary';
import type { Progress } from './bindings/Progress';
import { formatElapsed } from './kubetime';

/** Where a mission stands for the learner. */
export type MissionState = 'open' | 'locked' | 'in-progress' | 'solved';

/** A mission the learner still has to solve before another one opens. */
export interface Blocker {
  id: string;
  /** The required mission's title, or its id when no loaded mission has that id. */
  title: string;
  /** False when `requires` names a mission that is not in the catalog. */
  known: boolean;
}

/** One row of the mission map. */
export interface MissionView {
  mission: MissionSummary;
  state: MissionState;
  /** Required missions not solved yet, in the order `requires` lists them. */
  blockers: Blocker[];
  /** What the learner must do to open this mission (`Solve “…” first`), or null if open. */
  unlockHint: string | null;
  /** The learner's record for this mission, if any. */
  progress: MissionProgress | null;
}

/** The pod's path through a mission, in the order the pipeline rail shows it. */
export const PIPELINE_STAGES = ['apply', 'schedule', 'pull', 'create', 'run', 'ready'] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

const STAGE_LABELS: Record<PipelineStage, string> = {
  apply: 'Apply',
  schedule: 'Scheduling',
  pull: 'Image pull',
  create: 'Container create',
  run: 'Running',
  ready: 'Readiness',
};

const DIFFICULTY_LABELS: Record<string, string> = {
  beginner: 'Beginner',
  intermediate: 'Intermediate',
  advanced: 'Advanced',
};

const capitalise = (word: string): string =>
  word.length === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1);

export function isPipelineStage(stage: string): stage is PipelineStage {
  return (PIPELINE_STAGES as readonly string[]).includes(stage);
}

/** The friendly name of a pipeline stage (`pull` → `Image pull`); unknown stages keep their name. */
export function stageLabel(stage: string): string {
  const key = stage.trim().toLowerCase();
  return isPipelineStage(key) ? STAGE_LABELS[key] : capitalise(stage.trim()) || 'Unknown stage';
}

/** `beginner` → `Beginner`; a difficulty this version does not know is shown as written. */
export function difficultyLabel(difficulty: string): string {
  const key = difficulty.trim().toLowerCase();
  return DIFFICULTY_LABELS[key] ?? (capitalise(difficulty.trim()) || 'Unrated');
}

/** How many of three steps a difficulty fills (0 when unknown), for the small meter. */
export function difficultyLevel(difficulty: string): 0 | 1 | 2 | 3 {
  switch (difficulty.trim().toLowerCase()) {
    case 'beginner':
      return 1;
    case 'intermediate':
      return 2;
    case 'advanced':
      return 3;
    default:
      return 0;
  }
}

/** Mission numbers as the map prints them: `01`, `02`, … `24`. */
export function formatOrder(order: number): string {
  return String(order).padStart(2, '0');
}

const listFormat = new Intl.ListFormat('en', { style: 'long', type: 'conjunction' });

/** `Solve “A” first`, `Solve “A” and “B” first`, … */
export function unlockHint(blockers: readonly Blocker[]): string | null {
  if (blockers.length === 0) return null;
  return `Solve ${listFormat.format(blockers.map((b) => `“${b.title}”`))} first`;
}

/** The ids of the missions `progress` records as solved. */
export function solvedIds(progress: Progress | null): Set<string> {
  if (!progress) return new Set();
  return new Set(Object.entries(progress.missions).filter(([, p]) => p?.status === 'solved').map(([id]) => id));
}

/**
 * Derives every mission's state from the solved ids. A mission is open when every mission it
 * requires is solved; it is solved when its own id is in `solved`; an open mission the
 * learner has started and not solved is in progress. The catalog's order (the curriculum
 * order) is kept as given.
 */
export function deriveMissionMap(
  missions: readonly MissionSummary[],
  solved: ReadonlySet<string>,
  progress: Progress | null = null,
): MissionView[] {
  const titles = new Map(missions.map((m) => [m.id, m.title]));
  return missions.map((mission) => {
    const blockers = mission.requires
      .filter((id) => !solved.has(id))
      .map((id) => {
        const title = titles.get(id);
        return { id, title: title ?? id, known: title !== undefined };
      });
    const record = progress?.missions[mission.id] ?? null;
    const state: MissionState = solved.has(mission.id)
      ? 'solved'
      : blockers.length > 0
        ? 'locked'
        : record?.status === 'in-progress'
          ? 'in-progress'
          : 'open';
    return {
      mission,
      state,
      blockers,
      unlockHint: state === 'locked' ? unlockHint(blockers) : null,
      progress: record,
    };
  });
}

/** The state words the map shows next to each mission (never colour alone). */
export function stateLabel(state: MissionState): string {
  switch (state) {
    case 'open':
      return 'Open';
    case 'locked':
      return 'Locked';
    case 'in-progress':
      return 'In progress';
    case 'solved':
      return 'Solved';
  }
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** `3 missions · 1 open · 2 locked`: the map's summary line and its screen-reader announcement. */
export function summarise(views: readonly MissionView[]): string {
  const count = (s: MissionState) => views.filter((v) => v.state === s).length;
  const parts = [plural(views.length, 'mission', 'missions')];
  const open = count('open');
  const started = count('in-progress');
  const solved = count('solved');
  const locked = count('locked');
  if (open > 0) parts.push(`${open} open`);
  if (started > 0) parts.push(`${started} in progress`);
  if (solved > 0) parts.push(`${solved} solved`);
  if (locked > 0) parts.push(`${locked} locked`);
  return parts.join(' · ');
}

/** Where each pipeline stage stands when the pod is stuck at `stuck`. */
export type StageMark = 'passed' | 'stuck' | 'ahead';

export function stageMarks(stuck: string): { stage: PipelineStage; label: string; mark: StageMark }[] {
  const at = PIPELINE_STAGES.indexOf(stuck.trim().toLowerCase() as PipelineStage);
  return PIPELINE_STAGES.map((stage, i) => ({
    stage,
    label: STAGE_LABELS[stage],
    mark: at < 0 ? 'ahead' : i < at ? 'passed' : i === at ? 'stuck' : 'ahead',
  }));
}

/** What a card says about the learner's record: `Fixed in 4m 12s · 1 hint`, `Attempt 2`. */
export function progressLine(view: MissionView): string | null {
  const p = view.progress;
  if (!p) return null;
  const hints = p.hintsUsed === 0 ? 'no hints' : plural(p.hintsUsed, 'hint', 'hints');
  if (view.state === 'solved') {
    const time = p.timeToFixSeconds === null ? 'Fixed' : `Fixed in ${formatElapsed(p.timeToFixSeconds)}`;
    return `${time} · ${hints}`;
  }
  if (view.state === 'in-progress') {
    return `Attempt ${Math.max(1, p.attempts)} · ${p.hintsUsed === 0 ? 'no hints yet' : `${plural(p.hintsUsed, 'hint', 'hints')} used`}`;
  }
  return null;
}

/** Missions that were locked in `before` and are not in `after`: what a success opened. */
export function newlyOpened(before: readonly MissionView[], after: readonly MissionView[]): MissionView[] {
  const was = new Map(before.map((v) => [v.mission.id, v.state]));
  return after.filter((v) => was.get(v.mission.id) === 'locked' && v.state !== 'locked');
}

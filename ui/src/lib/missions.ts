// The mission map's view model: which missions are open, which are locked and what unlocks
// them, and the words the map uses for stages and difficulties.
//
// Everything here is a pure function of the mission list and the set of solved mission ids,
// so the map is the same whether progress comes from disk, from a test or from nowhere yet.

import type { Chapter } from './bindings/Chapter';
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
  /**
   * Missions of the previous chapter not solved yet: chapters open in order, each once the one
   * before it is complete.
   */
  chapterBlockers: Blocker[];
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

/** `Finish the Pods chapter first (2 missions left)`. */
export function chapterUnlockHint(chapter: string, left: number): string {
  return `Finish the ${chapterTitle(chapter)} chapter first (${left} ${left === 1 ? 'mission' : 'missions'} left)`;
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
 * order) is kept as given. In teacher preview (`preview`), nothing is locked: every mission
 * opens whatever it requires, and solved or started ones still show as such.
 */
export function deriveMissionMap(
  missions: readonly MissionSummary[],
  solved: ReadonlySet<string>,
  progress: Progress | null = null,
  preview = false,
): MissionView[] {
  const titles = new Map(missions.map((m) => [m.id, m.title]));
  const chapters = new Map(missions.map((m) => [m.id, m.chapter as string]));
  const unsolved = (ids: readonly string[]): Blocker[] =>
    ids
      .filter((id) => !preview && !solved.has(id))
      .map((id) => {
        const title = titles.get(id);
        return { id, title: title ?? id, known: title !== undefined };
      });
  return missions.map((mission) => {
    const blockers = unsolved(mission.requires);
    const chapterBlockers = unsolved(mission.chapterRequires ?? []).filter(
      (b) => !mission.requires.includes(b.id),
    );
    const record = progress?.missions[mission.id] ?? null;
    const locked = blockers.length > 0 || chapterBlockers.length > 0;
    const state: MissionState = solved.has(mission.id)
      ? 'solved'
      : locked
        ? 'locked'
        : record?.status === 'in-progress'
          ? 'in-progress'
          : 'open';
    const previousChapter = chapters.get(chapterBlockers[0]?.id ?? '');
    const hint =
      state !== 'locked'
        ? null
        : blockers.length > 0
          ? unlockHint(blockers)
          : chapterUnlockHint(previousChapter ?? '', chapterBlockers.length);
    return {
      mission,
      state,
      blockers,
      chapterBlockers,
      unlockHint: hint,
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

// ---------------------------------------------------------------------------------------------
// Chapters: the map groups missions by the `chapter:` of their lesson, in this order.

/** Every chapter, in the map's order, with the name the learner sees. */
export const CHAPTERS: readonly { id: Chapter; title: string }[] = [
  { id: 'pods', title: 'Pods' },
  { id: 'images', title: 'Images' },
  { id: 'scheduling', title: 'Scheduling' },
  { id: 'config', title: 'Config' },
  { id: 'probes', title: 'Probes' },
  { id: 'workloads', title: 'Workloads' },
  { id: 'networking', title: 'Networking' },
  { id: 'security', title: 'Security' },
  { id: 'storage', title: 'Storage' },
];

/** One chapter of the map with its missions and how many the learner solved. */
export interface ChapterGroup {
  id: string;
  title: string;
  /** In `order`, then by id. */
  views: MissionView[];
  solved: number;
  total: number;
}

/** `pods` → `Pods`; a chapter this version does not know is shown as written. */
export function chapterTitle(chapter: string): string {
  return CHAPTERS.find((c) => c.id === chapter)?.title ?? (capitalise(chapter.trim()) || 'Other');
}

/**
 * The map's chapters, in chapter order, each with its missions in `order` (then id). Only
 * chapters that hold a mission are listed. A chapter this version does not know comes last, under
 * its own name, rather than being dropped.
 */
export function groupByChapter(views: readonly MissionView[]): ChapterGroup[] {
  const rank = (chapter: string) => {
    const at = CHAPTERS.findIndex((c) => c.id === chapter);
    return at < 0 ? CHAPTERS.length : at;
  };
  const byChapter = new Map<string, MissionView[]>();
  for (const view of views) {
    // Lists from before chapters existed have none: those missions are in the first chapter.
    const chapter: string = view.mission.chapter ?? 'pods';
    byChapter.set(chapter, [...(byChapter.get(chapter) ?? []), view]);
  }
  return [...byChapter.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([id, list]) => {
      const sorted = [...list].sort((a, b) => a.mission.order - b.mission.order || a.mission.id.localeCompare(b.mission.id));
      return {
        id,
        title: chapterTitle(id),
        views: sorted,
        solved: sorted.filter((v) => v.state === 'solved').length,
        total: sorted.length,
      };
    });
}

/** `2 of 5 solved`. */
export function chapterProgressLabel(group: Pick<ChapterGroup, 'solved' | 'total'>): string {
  return `${group.solved} of ${group.total} solved`;
}

// ---------------------------------------------------------------------------------------------
// The end of the curriculum: every mission solved.

/** Whether the learner has solved every mission on the map (an empty map is not complete). */
export function curriculumComplete(views: readonly MissionView[]): boolean {
  return views.length > 0 && views.every((v) => v.state === 'solved');
}

/** What the whole curriculum took: the sum of each solve's time to fix, and the hints used. */
export function curriculumTotals(views: readonly MissionView[]): { seconds: number | null; hints: number; missions: number } {
  const solved = views.filter((v) => v.state === 'solved');
  const times = solved.map((v) => v.progress?.timeToFixSeconds ?? null).filter((t): t is number => t !== null);
  return {
    seconds: times.length > 0 ? times.reduce((a, b) => a + b, 0) : null,
    hints: solved.reduce((sum, v) => sum + (v.progress?.hintsUsed ?? 0), 0),
    missions: solved.length,
  };
}

/** `3 missions solved in 12m 04s with 2 hints`. */
export function curriculumLine(views: readonly MissionView[]): string {
  const t = curriculumTotals(views);
  const missions = plural(t.missions, 'mission', 'missions');
  const time = t.seconds === null ? '' : ` in ${formatElapsed(t.seconds)}`;
  const hints = t.hints === 0 ? 'no hints' : plural(t.hints, 'hint', 'hints');
  return `${missions} solved${time} with ${hints}`;
}

/** Where the window remembers that the curriculum-complete moment was shown. */
export const CELEBRATED_KEY = 'kubequest.curriculumCelebrated';

/**
 * The missions the celebration was shown for, as one key: a curriculum that grows (a teacher adds
 * a mission) and is completed again is celebrated again.
 */
function celebrationKey(views: readonly MissionView[]): string {
  return views
    .map((v) => v.mission.id)
    .sort()
    .join(',');
}

/**
 * Whether to show the curriculum-complete moment now: only when every mission is solved, and only
 * once for this set of missions (afterwards the map shows the quiet banner).
 */
export function shouldCelebrate(views: readonly MissionView[], storage: Pick<Storage, 'getItem'> | null): boolean {
  if (!curriculumComplete(views)) return false;
  try {
    return storage?.getItem(CELEBRATED_KEY) !== celebrationKey(views);
  } catch {
    // Without storage the moment would show on every visit; the quiet banner is enough.
    return false;
  }
}

/** Remembers that the curriculum-complete moment was shown for this set of missions. */
export function markCelebrated(views: readonly MissionView[], storage: Pick<Storage, 'setItem'> | null): void {
  try {
    storage?.setItem(CELEBRATED_KEY, celebrationKey(views));
  } catch {
    // Nothing to do: the banner still shows.
  }
}

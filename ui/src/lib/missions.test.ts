import { describe, expect, it } from 'vitest';
import type { MissionProgress } from './bindings/MissionProgress';
import type { MissionSummary } from './bindings/MissionSummary';
import type { Progress } from './bindings/Progress';
import { curriculum, mission } from './fixtures.test-helpers';
import {
  CELEBRATED_KEY,
  CHAPTERS,
  chapterProgressLabel,
  chapterTitle,
  curriculumComplete,
  curriculumLine,
  curriculumTotals,
  groupByChapter,
  markCelebrated,
  shouldCelebrate,
  deriveMissionMap,
  newlyOpened,
  progressLine,
  solvedIds,
  stateLabel,
  difficultyLabel,
  difficultyLevel,
  formatOrder,
  stageLabel,
  stageMarks,
  summarise,
  unlockHint,
} from './missions';

describe('deriveMissionMap', () => {
  it('opens only missions without requirements when nothing is solved', () => {
    const views = deriveMissionMap(curriculum, new Set());
    expect(views.map((v) => [v.mission.id, v.state])).toEqual([
      ['crash-loop-backoff', 'open'],
      ['image-pull-backoff', 'locked'],
      ['pending-insufficient-cpu', 'locked'],
    ]);
  });

  it('says which mission unlocks a locked one, by title', () => {
    const views = deriveMissionMap(curriculum, new Set());
    expect(views[0]?.unlockHint).toBeNull();
    expect(views[1]?.unlockHint).toBe('Solve “The pod that keeps falling over” first');
    expect(views[2]?.unlockHint).toBe('Solve “The image that never arrives” first');
  });

  it('opens the next mission once its requirement is solved', () => {
    const views = deriveMissionMap(curriculum, new Set(['crash-loop-backoff']));
    expect(views.map((v) => v.state)).toEqual(['solved', 'open', 'locked']);
    expect(views[1]?.unlockHint).toBeNull();
  });

  it('keeps a mission locked until every requirement is solved, naming only the missing ones', () => {
    const missions = [
      mission({ id: 'a', title: 'Alpha' }),
      mission({ id: 'b', title: 'Beta', order: 2 }),
      mission({ id: 'c', title: 'Gamma', order: 3 }),
      mission({ id: 'd', title: 'Delta', order: 4, requires: ['a', 'b', 'c'] }),
    ];
    expect(deriveMissionMap(missions, new Set())[3]?.unlockHint).toBe('Solve “Alpha”, “Beta”, and “Gamma” first');
    const partly = deriveMissionMap(missions, new Set(['b']))[3];
    expect(partly?.state).toBe('locked');
    expect(partly?.blockers.map((b) => b.id)).toEqual(['a', 'c']);
    expect(partly?.unlockHint).toBe('Solve “Alpha” and “Gamma” first');
    expect(deriveMissionMap(missions, new Set(['a', 'b', 'c']))[3]?.state).toBe('open');
  });

  it('names an unknown requirement by its id instead of hiding it', () => {
    const views = deriveMissionMap([mission({ id: 'x', requires: ['not-in-catalog'] })], new Set());
    expect(views[0]?.state).toBe('locked');
    expect(views[0]?.blockers).toEqual([{ id: 'not-in-catalog', title: 'not-in-catalog', known: false }]);
    expect(views[0]?.unlockHint).toBe('Solve “not-in-catalog” first');
  });

  it('keeps the order the catalog gives (curriculum order), not alphabetical or by id', () => {
    const shuffled = [curriculum[2], curriculum[0], curriculum[1]].filter((m) => m !== undefined);
    expect(deriveMissionMap(shuffled, new Set()).map((v) => v.mission.order)).toEqual([3, 1, 2]);
  });
});

describe('labels', () => {
  it('gives every pipeline stage a friendly name', () => {
    expect(['schedule', 'pull', 'create', 'run', 'ready'].map(stageLabel)).toEqual([
      'Scheduling',
      'Image pull',
      'Container create',
      'Running',
      'Readiness',
    ]);
  });

  it('shows a stage it does not know as written, capitalised, never blank', () => {
    expect(stageLabel('evict')).toBe('Evict');
    expect(stageLabel(' PULL ')).toBe('Image pull');
    expect(stageLabel('')).toBe('Unknown stage');
  });

  it('names difficulties and sizes their meter', () => {
    expect(difficultyLabel('beginner')).toBe('Beginner');
    expect(difficultyLabel('advanced')).toBe('Advanced');
    expect(difficultyLabel('expert')).toBe('Expert');
    expect(difficultyLabel('')).toBe('Unrated');
    expect(['beginner', 'intermediate', 'advanced', 'expert'].map(difficultyLevel)).toEqual([1, 2, 3, 0]);
  });

  it('pads mission numbers to two digits', () => {
    expect([1, 9, 10, 24].map(formatOrder)).toEqual(['01', '09', '10', '24']);
  });

  it('has no unlock hint without blockers', () => {
    expect(unlockHint([])).toBeNull();
  });
});

describe('summarise', () => {
  it('counts missions by state in words', () => {
    expect(summarise(deriveMissionMap(curriculum, new Set()))).toBe('3 missions · 1 open · 2 locked');
    expect(summarise(deriveMissionMap(curriculum, new Set(['crash-loop-backoff'])))).toBe(
      '3 missions · 1 open · 1 solved · 1 locked',
    );
    expect(summarise(deriveMissionMap(curriculum.slice(0, 1), new Set()))).toBe('1 mission · 1 open');
  });
});

describe('stageMarks', () => {
  it('marks earlier stages passed, the stuck one stuck and later ones ahead', () => {
    expect(stageMarks('pull').map((s) => `${s.stage}:${s.mark}`)).toEqual([
      'apply:passed',
      'schedule:passed',
      'pull:stuck',
      'create:ahead',
      'run:ahead',
      'ready:ahead',
    ]);
  });

  it('marks nothing stuck for a stage the pipeline does not have', () => {
    expect(stageMarks('evict').some((s) => s.mark === 'stuck')).toBe(false);
  });
});

describe('mission map with progress', () => {
  const progress = (missions: Progress['missions']): Progress => ({ version: 1, learner: null, missions });
  const record = (over: Partial<MissionProgress>): MissionProgress => ({
    status: 'not-started',
    attempts: 0,
    hintsUsed: 0,
    startedAt: null,
    solvedAt: null,
    timeToFixSeconds: null,
    ...over,
  });

  it('marks started missions in progress, solved ones solved, and unlocks the next', () => {
    const p = progress({
      'crash-loop-backoff': record({ status: 'solved', attempts: 1, hintsUsed: 1, timeToFixSeconds: 252 }),
      'image-pull-backoff': record({ status: 'in-progress', attempts: 2 }),
    });
    const views = deriveMissionMap(curriculum, solvedIds(p), p);
    expect(views.map((v) => v.state)).toEqual(['solved', 'in-progress', 'locked']);
    expect(progressLine(views[0]!)).toBe('Fixed in 4m 12s · 1 hint');
    expect(progressLine(views[1]!)).toBe('Attempt 2 · no hints yet');
    expect(progressLine(views[2]!)).toBeNull();
    expect(summarise(views)).toBe('3 missions · 1 in progress · 1 solved · 1 locked');
    expect(stateLabel('in-progress')).toBe('In progress');
  });

  it('a locked mission stays locked even with a stale in-progress record', () => {
    const p = progress({ 'pending-insufficient-cpu': record({ status: 'in-progress', attempts: 1 }) });
    expect(deriveMissionMap(curriculum, solvedIds(p), p).map((v) => v.state)).toEqual(['open', 'locked', 'locked']);
  });

  it('names what a success opened', () => {
    const before = deriveMissionMap(curriculum, new Set());
    const after = deriveMissionMap(curriculum, new Set(['crash-loop-backoff']));
    expect(newlyOpened(before, after).map((v) => v.mission.id)).toEqual(['image-pull-backoff']);
  });
});

const solvedRecord = (timeToFixSeconds: number | null, hintsUsed: number): MissionProgress => ({
  status: 'solved',
  attempts: 1,
  hintsUsed,
  startedAt: '2026-01-01T10:00:00Z',
  solvedAt: '2026-01-01T10:05:00Z',
  timeToFixSeconds,
});

describe('chapters', () => {
  it('lists the nine chapters in the map order with their names', () => {
    expect(CHAPTERS.map((c) => c.title)).toEqual([
      'Pods',
      'Images',
      'Scheduling',
      'Config',
      'Probes',
      'Workloads',
      'Networking',
      'Security',
      'Storage',
    ]);
    expect(chapterTitle('probes')).toBe('Probes');
    expect(chapterTitle('gitops')).toBe('Gitops');
  });

  it('groups missions by chapter in chapter order, each in mission order, skipping empty chapters', () => {
    const missions = [
      mission({ id: 'quota', order: 9, chapter: 'security' }),
      mission({ id: 'taint', order: 6, chapter: 'scheduling' }),
      mission({ id: 'crash', order: 1, chapter: 'pods' }),
      mission({ id: 'cpu', order: 5, chapter: 'scheduling' }),
      mission({ id: 'oom', order: 2, chapter: 'pods' }),
    ];
    const groups = groupByChapter(deriveMissionMap(missions, new Set()));
    expect(groups.map((g) => [g.title, g.views.map((v) => v.mission.id)])).toEqual([
      ['Pods', ['crash', 'oom']],
      ['Scheduling', ['cpu', 'taint']],
      ['Security', ['quota']],
    ]);
  });

  it('counts solved missions per chapter: “1 of 2 solved”', () => {
    const missions = [
      mission({ id: 'a', order: 1 }),
      mission({ id: 'b', order: 2, requires: ['a'] }),
      mission({ id: 'c', order: 3, chapter: 'images', requires: ['b'] }),
    ];
    const groups = groupByChapter(deriveMissionMap(missions, new Set(['a'])));
    expect(groups.map((g) => [g.id, g.solved, g.total, chapterProgressLabel(g)])).toEqual([
      ['pods', 1, 2, '1 of 2 solved'],
      ['images', 0, 1, '0 of 1 solved'],
    ]);
  });

  it('keeps a mission of a chapter this version does not know, last and under its own name', () => {
    const odd = { ...mission({ id: 'x', order: 1 }), chapter: 'gitops' } as unknown as MissionSummary;
    const groups = groupByChapter(deriveMissionMap([odd, mission({ id: 'y', order: 2, chapter: 'storage' })], new Set()));
    expect(groups.map((g) => g.title)).toEqual(['Storage', 'Gitops']);
  });
});

describe('chapters open in order', () => {
  const missions = [
    mission({ id: 'a', title: 'Alpha', order: 1 }),
    mission({ id: 'b', title: 'Beta', order: 2 }),
    mission({ id: 'c', title: 'Gamma', order: 3, chapter: 'images', chapterRequires: ['a', 'b'] }),
  ];

  it('keeps the next chapter locked until the one before it is complete, and says so', () => {
    const views = deriveMissionMap(missions, new Set(['a']));
    const gamma = views.find((v) => v.mission.id === 'c');
    expect(gamma?.state).toBe('locked');
    expect(gamma?.blockers).toEqual([]);
    expect(gamma?.chapterBlockers.map((b) => b.id)).toEqual(['b']);
    expect(gamma?.unlockHint).toBe('Finish the Pods chapter first (1 mission left)');
    expect(deriveMissionMap(missions, new Set())[2]?.unlockHint).toBe(
      'Finish the Pods chapter first (2 missions left)',
    );
  });

  it('opens the chapter once every mission of the one before is solved', () => {
    expect(deriveMissionMap(missions, new Set(['a', 'b']))[2]?.state).toBe('open');
  });

  it('names the mission first when the mission itself requires one', () => {
    const own = [...missions.slice(0, 2), { ...missions[2]!, requires: ['b'] }];
    expect(deriveMissionMap(own, new Set(['a']))[2]?.unlockHint).toBe('Solve “Beta” first');
  });

  it('is ignored in teacher preview', () => {
    expect(deriveMissionMap(missions, new Set(), null, true)[2]?.state).toBe('open');
  });
});

describe('teacher preview', () => {
  it('opens every mission whatever it requires, and keeps solved and started ones as they are', () => {
    const progress: Progress = {
      missions: { 'image-pull-backoff': { ...solvedRecord(null, 0), status: 'in-progress', solvedAt: null } },
    } as unknown as Progress;
    const views = deriveMissionMap(curriculum, new Set(['crash-loop-backoff']), progress, true);
    expect(views.map((v) => [v.mission.id, v.state, v.unlockHint])).toEqual([
      ['crash-loop-backoff', 'solved', null],
      ['image-pull-backoff', 'in-progress', null],
      ['pending-insufficient-cpu', 'open', null],
    ]);
    expect(deriveMissionMap(curriculum, new Set(), null, false)[2]?.state, 'off, the chain applies').toBe('locked');
  });
});

describe('curriculum complete', () => {
  const all = new Set(curriculum.map((m) => m.id));
  const progress = {
    missions: {
      'crash-loop-backoff': solvedRecord(130, 0),
      'image-pull-backoff': solvedRecord(95, 2),
      'pending-insufficient-cpu': solvedRecord(null, 1),
    },
  } as unknown as Progress;

  it('is complete only when every mission is solved', () => {
    expect(curriculumComplete(deriveMissionMap(curriculum, all, progress))).toBe(true);
    expect(curriculumComplete(deriveMissionMap(curriculum, new Set(['crash-loop-backoff', 'image-pull-backoff'])))).toBe(false);
    expect(curriculumComplete([]), 'an empty map has nothing to celebrate').toBe(false);
  });

  it('adds up the time to fix and the hints of every solve', () => {
    const views = deriveMissionMap(curriculum, all, progress);
    expect(curriculumTotals(views)).toEqual({ seconds: 225, hints: 3, missions: 3 });
    expect(curriculumLine(views)).toBe('3 missions solved in 3m 45s with 3 hints');
    const noRecord = deriveMissionMap(curriculum, all, null);
    expect(curriculumLine(noRecord), 'no recorded times: no time claimed').toBe('3 missions solved with no hints');
  });

  it('celebrates once per set of missions, then only the banner', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const views = deriveMissionMap(curriculum, all, progress);
    expect(shouldCelebrate(deriveMissionMap(curriculum, new Set()), storage)).toBe(false);
    expect(shouldCelebrate(views, storage)).toBe(true);
    markCelebrated(views, storage);
    expect(store.has(CELEBRATED_KEY)).toBe(true);
    expect(shouldCelebrate(views, storage), 'shown once').toBe(false);
    const grown = [...curriculum, mission({ id: 'taint', order: 4, chapter: 'scheduling' })];
    expect(shouldCelebrate(deriveMissionMap(grown, new Set([...all, 'taint'])), storage), 'a new mission solved too: again').toBe(true);
    const broken = {
      getItem: () => {
        throw new Error('storage disabled');
      },
    };
    expect(shouldCelebrate(views, broken), 'no storage: never a celebration on every visit').toBe(false);
  });
});

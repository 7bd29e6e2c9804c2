import { describe, expect, it } from 'vitest';
import type { MissionProgress } from './bindings/MissionProgress';
import type { Progress } from './bindings/Progress';
import { curriculum, mission } from './fixtures.test-helpers';
import {
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

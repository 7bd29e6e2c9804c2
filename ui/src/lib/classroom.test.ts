import { describe, expect, it } from 'vitest';
import {
  checkClassName,
  checkHours,
  checkJoinCode,
  checkServer,
  classSummary,
  formatSeconds,
  hintBars,
  isStuck,
  nextSort,
  niceMax,
  rosterNames,
  rosterProblems,
  scaleBars,
  sortRows,
  timeToFixBars,
  updatedAgo,
  type ClassLearnerRow,
  type ClassMissionSummary,
  type ClassView,
} from './classroom';

const row = (over: Partial<ClassLearnerRow> & { learner: string }): ClassLearnerRow => ({
  mission: 'crash-loop-backoff',
  missionTitle: 'The pod that keeps falling over',
  stage: 'run',
  reason: 'CrashLoopBackOff',
  secondsOnMission: 120,
  hints: 0,
  solved: 0,
  reportedAt: '2026-12-07T09:00:00Z',
  solvedCurrent: false,
  ...over,
});

const idle = (learner: string): ClassLearnerRow =>
  row({ learner, mission: null, missionTitle: null, stage: null, reason: null, secondsOnMission: null });

const rows = [
  row({ learner: 'grace', stage: 'pull', reason: 'ImagePullBackOff', secondsOnMission: 900, hints: 2, solved: 3, mission: 'image-pull-backoff', missionTitle: 'The image that never arrives' }),
  idle('alan'),
  row({ learner: 'ada', stage: 'schedule', reason: 'Unschedulable', secondsOnMission: 60, hints: 1, solved: 5, mission: 'pending-insufficient-cpu', missionTitle: 'The pod with nowhere to go' }),
  row({ learner: 'linus', secondsOnMission: 1800, hints: 3, solved: 1 }),
];

const names = (list: ClassLearnerRow[]) => list.map((r) => r.learner);

describe('sorting the class table', () => {
  it('sorts by name, and turns round on a second click', () => {
    expect(names(sortRows(rows, { column: 'learner', direction: 'ascending' }))).toEqual(['ada', 'alan', 'grace', 'linus']);
    expect(names(sortRows(rows, { column: 'learner', direction: 'descending' }))).toEqual(['linus', 'grace', 'alan', 'ada']);
  });

  it('sorts times and counts as numbers, and keeps learners without a mission last in both directions', () => {
    expect(names(sortRows(rows, { column: 'time', direction: 'descending' }))).toEqual(['linus', 'grace', 'ada', 'alan']);
    expect(names(sortRows(rows, { column: 'time', direction: 'ascending' }))).toEqual(['ada', 'grace', 'linus', 'alan']);
    expect(names(sortRows(rows, { column: 'solved', direction: 'descending' }))).toEqual(['ada', 'grace', 'linus', 'alan']);
  });

  it('orders stages as a pod goes through them, not alphabetically', () => {
    expect(names(sortRows(rows, { column: 'stage', direction: 'ascending' }))).toEqual(['ada', 'grace', 'linus', 'alan']);
  });

  it('breaks ties by learner name', () => {
    const tied = [row({ learner: 'zoe', hints: 1 }), row({ learner: 'bob', hints: 1 }), row({ learner: 'eve', hints: 1 })];
    expect(names(sortRows(tied, { column: 'hints', direction: 'descending' }))).toEqual(['bob', 'eve', 'zoe']);
  });

  it('starts a numeric column largest first and a text column A to Z', () => {
    const current = { column: 'learner' as const, direction: 'ascending' as const };
    expect(nextSort(current, 'time')).toEqual({ column: 'time', direction: 'descending' });
    expect(nextSort(current, 'reason')).toEqual({ column: 'reason', direction: 'ascending' });
    expect(nextSort(current, 'learner')).toEqual({ column: 'learner', direction: 'descending' });
  });
});

describe('stuck learners', () => {
  it('is stuck only past the threshold, on a mission not solved yet', () => {
    expect(isStuck(row({ learner: 'a', secondsOnMission: 600 }), 10), 'exactly 10 min is not more than 10').toBe(false);
    expect(isStuck(row({ learner: 'a', secondsOnMission: 601 }), 10)).toBe(true);
    expect(isStuck(row({ learner: 'a', secondsOnMission: 601 }), 15)).toBe(false);
    expect(isStuck(row({ learner: 'a', secondsOnMission: 5000, solvedCurrent: true }), 10), 'a solved mission is not stuck').toBe(false);
    expect(isStuck(idle('a'), 0), 'no mission, nothing to be stuck on').toBe(false);
  });

  it('counts the stuck learners in the caption', () => {
    const view: ClassView = { class: 'class', endsAt: null, readAt: '2026-12-07T09:00:00Z', learners: rows, missions: [], problems: [] };
    expect(classSummary(view, 10)).toBe('4 learners, 2 stuck for more than 10 min.');
    expect(classSummary(view, 30)).toBe('4 learners, none stuck for more than 30 min.');
    expect(classSummary({ ...view, learners: [] }, 10)).toBe('No learner in this class yet.');
  });
});

describe('times', () => {
  it('says seconds, minutes and hours as a teacher reads them', () => {
    expect(formatSeconds(null)).toBe('—');
    expect(formatSeconds(42)).toBe('42 s');
    expect(formatSeconds(720)).toBe('12 min');
    expect(formatSeconds(3900)).toBe('1 h 05 min');
  });

  it('says how long ago the view was read', () => {
    const at = Date.parse('2026-12-07T09:00:00Z');
    expect(updatedAgo(null, at)).toBeNull();
    expect(updatedAgo('2026-12-07T09:00:00Z', at + 3400)).toBe('updated 3 s ago');
    expect(updatedAgo('2026-12-07T09:00:00Z', at - 500), 'a clock a little behind reads as now').toBe('updated 0 s ago');
    expect(updatedAgo('2026-12-07T09:00:00Z', at + 125_000)).toBe('updated 2 min ago');
  });
});

describe('chart scaling', () => {
  it('rounds the scale up to 1, 2 or 5 times a power of ten', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(10)).toBe(10);
    expect(niceMax(11)).toBe(20);
    expect(niceMax(420)).toBe(500);
    expect(niceMax(0.3)).toBeCloseTo(0.5);
  });

  it('scales every bar against the same top, and gives a mission without a number an empty bar', () => {
    const { bars, max } = scaleBars(
      [
        { label: 'a', value: 300 },
        { label: 'b', value: 150 },
        { label: 'c', value: null },
      ],
      (v) => `${v}`,
    );
    expect(max).toBe(500);
    expect(bars.map((b) => b.share)).toEqual([0.6, 0.3, 0]);
    expect(bars.map((b) => b.text)).toEqual(['300', '150', 'none yet']);
  });

  const missions: ClassMissionSummary[] = [
    { mission: 'crash-loop-backoff', title: 'The pod that keeps falling over', started: 4, solved: 3, medianSecondsToFix: 420, hints: 5 },
    { mission: 'image-pull-backoff', title: 'The image that never arrives', started: 2, solved: 0, medianSecondsToFix: null, hints: 1 },
    { mission: 'pending-insufficient-cpu', title: 'The pod with nowhere to go', started: 0, solved: 0, medianSecondsToFix: null, hints: 0 },
  ];

  it('charts only missions someone started, with the numbers as text', () => {
    const time = timeToFixBars(missions);
    expect(time.bars.map((b) => [b.label, b.text])).toEqual([
      ['The pod that keeps falling over', '7 min'],
      ['The image that never arrives', 'none yet'],
    ]);
    const hints = hintBars(missions);
    expect(hints.bars.map((b) => b.text)).toEqual(['5 hints', '1 hint']);
    expect(hints.bars[0]?.share).toBe(1);
  });
});

describe('roster errors', () => {
  it('attaches each engine error to the line it names', () => {
    const message = [
      'names.txt:4: "Ada Lovelace" is not a valid learner name: use lower-case letters, digits and \'-\' (for example ada-lovelace)',
      'names.txt:7: "grace" is already on line 2: each learner once',
      'Nothing was created: fix the roster, then start again.',
    ].join('\n');
    expect(rosterProblems(message)).toEqual([
      { line: 4, message: '"Ada Lovelace" is not a valid learner name: use lower-case letters, digits and \'-\' (for example ada-lovelace)' },
      { line: 7, message: '"grace" is already on line 2: each learner once' },
      { line: null, message: 'Nothing was created: fix the roster, then start again.' },
    ]);
  });

  it('counts the names a roster gives, without blank lines and comments', () => {
    expect(rosterNames('# class 10b\nada\n\n  grace  \n#linus\nalan\r\n')).toEqual(['ada', 'grace', 'alan']);
  });
});

describe('the join form', () => {
  it('accepts a code in any case, with or without the dash', () => {
    expect(checkJoinCode('abcd-efgh')).toEqual({ ok: true, value: 'ABCD-EFGH' });
    expect(checkJoinCode(' 7K3M 9PQR ')).toEqual({ ok: true, value: '7K3M-9PQR' });
    expect(checkJoinCode('7k3m9pqr')).toEqual({ ok: true, value: '7K3M-9PQR' });
  });

  it('refuses a code of the wrong length or with letters the sheet never prints, saying why', () => {
    expect(checkJoinCode('')).toMatchObject({ ok: false, message: expect.stringContaining('ABCD-EFGH') });
    expect(checkJoinCode('ABCD-EFG')).toMatchObject({ ok: false, message: expect.stringContaining('this one has 7') });
    expect(checkJoinCode('ABCD-EFGO')).toMatchObject({ ok: false, message: 'Join codes have no letter O: did you mean 0 (zero)?' });
    expect(checkJoinCode('ABCD-EFGI')).toMatchObject({ ok: false, message: 'Join codes have no letter I: did you mean 1 (one)?' });
    expect(checkJoinCode('ABCD_EFGH')).toMatchObject({ ok: false });
  });

  it('takes the server from the card or as host:port, and only over HTTPS', () => {
    expect(checkServer('https://192.168.1.20:6443')).toEqual({ ok: true, value: 'https://192.168.1.20:6443' });
    expect(checkServer(' 192.168.1.20:6443 ')).toEqual({ ok: true, value: 'https://192.168.1.20:6443' });
    expect(checkServer('https://[fe80::1]:6443/')).toEqual({ ok: true, value: 'https://[fe80::1]:6443' });
    expect(checkServer('http://192.168.1.20:6443')).toMatchObject({ ok: false, message: expect.stringContaining('HTTPS') });
    expect(checkServer('192.168.1.20')).toMatchObject({ ok: false, message: expect.stringContaining('port') });
    expect(checkServer('https://192.168.1.20:6443/api')).toMatchObject({ ok: false });
    expect(checkServer('')).toMatchObject({ ok: false });
  });
});

describe('the serve form', () => {
  it('names the class "class" unless the teacher names it, as a DNS label', () => {
    expect(checkClassName('')).toEqual({ ok: true, value: 'class' });
    expect(checkClassName('year-10-b')).toEqual({ ok: true, value: 'year-10-b' });
    expect(checkClassName('Year 10')).toMatchObject({ ok: false });
    expect(checkClassName('a'.repeat(41))).toMatchObject({ ok: false });
  });

  it('takes the class length in hours', () => {
    expect(checkHours('1.5')).toEqual({ ok: true, value: 1.5 });
    expect(checkHours('0.25')).toEqual({ ok: true, value: 0.25 });
    expect(checkHours('0.2'), 'a token lasts at least 10 minutes').toMatchObject({ ok: false });
    expect(checkHours('eight')).toMatchObject({ ok: false });
    expect(checkHours(200)).toMatchObject({ ok: false });
  });
});

import { describe, expect, it } from 'vitest';
import { codeSpans, objectiveItems, objectivesSummary } from './objectives';

describe('objectiveItems', () => {
  const infos = [
    { id: 'ready', title: '`web` is Running and Ready' },
    { id: 'image', title: 'The image exists' },
  ];
  it('waits for the first evaluation', () => {
    const items = objectiveItems(infos, null);
    expect(items.map((i) => [i.id, i.status, i.statusLabel])).toEqual([
      ['ready', 'waiting', 'Checking'],
      ['image', 'waiting', 'Checking'],
    ]);
    expect(objectivesSummary(items)).toBe('0 of 2 met');
  });
  it('takes results by id, in the mission order, and keeps unknown ones at the end', () => {
    const items = objectiveItems(infos, [
      { id: 'image', title: 'The image exists', status: 'met', reason: 'nginx:1.27 resolves' },
      { id: 'extra', title: 'Extra', status: 'not-met', reason: 'no' },
      { id: 'ready', title: '`web` is Running and Ready', status: 'not-met', reason: 'web is Pending' },
    ]);
    expect(items.map((i) => [i.id, i.status])).toEqual([
      ['ready', 'not-met'],
      ['image', 'met'],
      ['extra', 'not-met'],
    ]);
    expect(items[0]?.reason).toBe('web is Pending');
    expect(objectivesSummary(items)).toBe('1 of 3 met');
  });
});

describe('codeSpans', () => {
  it('splits on backticks', () => {
    expect(codeSpans('`web` is Ready')).toEqual([
      { text: 'web', code: true },
      { text: ' is Ready', code: false },
    ]);
    expect(codeSpans('a `b')).toEqual([{ text: 'a `b', code: false }]);
  });
});

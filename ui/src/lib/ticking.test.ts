import { describe, expect, it } from 'vitest';
import { frameGroups } from './ticking.svelte';

const box = (item: string, left: number, top: number, width: number, height: number) => ({
  item,
  rect: { left, top, right: left + width, bottom: top + height },
});
const hidden = (item: string) => ({ item, rect: { left: 0, top: 0, right: 0, bottom: 0 } });

describe('ticking frames', () => {
  it('shows boxes apart in frames of their own', () => {
    // The mission screen: the clock at the top, the rail's countdown, its pod's age below.
    const groups = frameGroups([box('clock', 110, 156, 60, 18), box('countdown', 370, 764, 151, 18), box('created', 90, 996, 22, 17)]);
    expect(groups).toEqual([['clock'], ['countdown'], ['created']]);
  });

  it('shows a column of cells that touch in one frame, whatever their heights', () => {
    // Filled age cells, 1 px of border between rows (the events table).
    const tops = [1148, 1210, 1255, 1334, 1430, 1458, 1486, 1548];
    const cells = tops.slice(0, -1).map((top, i) => box(`age${i}`, 193, top + 1, 135, (tops[i + 1] ?? 0) - top - 1));
    const clock = box('clock', 110, 156, 60, 18);
    const groups = frameGroups([clock, ...cells]);
    expect(groups).toEqual([['clock'], cells.map((c) => c.item)]);
  });

  it('joins a box that touches the group only once a later box joined', () => {
    const groups = frameGroups([box('a', 0, 0, 10, 10), box('c', 0, 22, 10, 10), box('b', 0, 11, 10, 10)]);
    expect(groups).toEqual([['a', 'b', 'c']]);
  });

  it('lets a box not shown go with any frame', () => {
    const groups = frameGroups([hidden('closed'), box('a', 0, 0, 10, 10), box('far', 500, 500, 10, 10), hidden('gone')]);
    expect(groups).toEqual([['closed', 'a', 'gone'], ['far']]);
  });
});

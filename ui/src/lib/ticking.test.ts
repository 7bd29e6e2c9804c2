import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

// When a clock's tick shows each ticking box (`ticking.svelte.ts`): a group of boxes that touch
// at a time, GAP_MS apart, and a box out of view only once it comes into view. The test runs
// without a DOM: text nodes, boxes, the canvas that measures, frames and the view observer
// are stand-ins the module reaches through the globals a web view has.
class FakeText {
  constructor(public data: string) {}
}

class FakeBox {
  firstChild: FakeText;
  lastChild: FakeText;
  isConnected = true;
  style: Record<string, string> = {};
  constructor(
    text: string,
    private rect = { left: 0, top: 0, right: 10, bottom: 10 },
  ) {
    this.firstChild = this.lastChild = new FakeText(text);
  }
  get text() {
    return this.firstChild.data;
  }
  getBoundingClientRect() {
    return this.rect;
  }
}

type ObserverCallback = (entries: { target: FakeBox; isIntersecting: boolean }[]) => void;

let frames: FrameRequestCallback[] = [];
let observed: Set<FakeBox>;
let viewChanged: ObserverCallback | undefined;

const runFrame = () => {
  const now = frames;
  frames = [];
  for (const f of now) f(0);
};

async function load() {
  vi.resetModules();
  return import('./ticking.svelte');
}

beforeEach(() => {
  vi.useFakeTimers();
  frames = [];
  observed = new Set();
  viewChanged = undefined;
  vi.stubGlobal('Text', FakeText);
  vi.stubGlobal('getComputedStyle', () => ({ fontStyle: 'normal', fontWeight: '400', fontSize: '13px', fontFamily: 'Inter' }));
  vi.stubGlobal(
    'OffscreenCanvas',
    class {
      getContext() {
        return { font: '', measureText: (t: string) => ({ width: t.length * 7 }) };
      }
    },
  );
  vi.stubGlobal('requestAnimationFrame', (f: FrameRequestCallback) => {
    frames.push(f);
    return frames.length;
  });
  vi.stubGlobal(
    'IntersectionObserver',
    class {
      constructor(callback: ObserverCallback) {
        viewChanged = callback;
      }
      observe(el: FakeBox) {
        observed.add(el);
      }
      unobserve(el: FakeBox) {
        observed.delete(el);
      }
    },
  );
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const el = (b: FakeBox) => b as unknown as HTMLElement;

describe('a clock tick', () => {
  it('shows boxes apart at moments apart, one group of touching boxes at a time', async () => {
    const t = await load();
    const clock = new FakeBox('10:00:00', { left: 110, top: 156, right: 170, bottom: 174 });
    const countdown = new FakeBox('in 9s', { left: 370, top: 764, right: 520, bottom: 782 });
    const stop = [t.watch(el(clock)), t.watch(el(countdown))];
    t.clockTick(() => {
      t.tick(el(clock), '10:00:01');
      t.tick(el(countdown), 'in 8s');
    });
    expect([clock.text, countdown.text]).toEqual(['10:00:00', 'in 9s']);
    runFrame();
    expect([clock.text, countdown.text]).toEqual(['10:00:01', 'in 9s']);
    // The next frame alone does not show the countdown: its changes would reach the screen
    // together with the clock's.
    vi.advanceTimersByTime(t.GAP_MS - 1);
    runFrame();
    expect(countdown.text).toBe('in 9s');
    vi.advanceTimersByTime(1);
    runFrame();
    expect(countdown.text).toBe('in 8s');
    expect(clock.style.width).toBe(`${8 * 7 + 2}px`);
    for (const s of stop) s();
  });

  it('leaves a box out of view alone until it comes into view, then shows its latest text', async () => {
    const t = await load();
    const age = new FakeBox('3s');
    t.watch(el(age));
    expect(observed.has(age)).toBe(true);
    viewChanged?.([{ target: age, isIntersecting: false }]);
    t.clockTick(() => t.tick(el(age), '4s'));
    t.clockTick(() => t.tick(el(age), '5s'));
    runFrame();
    vi.advanceTimersByTime(1000);
    runFrame();
    expect(age.text).toBe('3s');
    viewChanged?.([{ target: age, isIntersecting: true }]);
    expect(age.text).toBe('5s');
    // In view again, it ticks with the clock.
    t.clockTick(() => t.tick(el(age), '6s'));
    runFrame();
    expect(age.text).toBe('6s');
  });

  it('forgets a box that goes: it is no longer observed and shows nothing later', async () => {
    const t = await load();
    const age = new FakeBox('3s');
    const stop = t.watch(el(age));
    viewChanged?.([{ target: age, isIntersecting: false }]);
    t.clockTick(() => t.tick(el(age), '4s'));
    stop();
    expect(observed.has(age)).toBe(false);
    viewChanged?.([{ target: age, isIntersecting: true }]);
    expect(age.text).toBe('3s');
  });
});

describe('a change that is not a tick', () => {
  it('shows at once, in view or not', async () => {
    const t = await load();
    const age = new FakeBox('3s');
    t.watch(el(age));
    viewChanged?.([{ target: age, isIntersecting: false }]);
    t.tick(el(age), '0s');
    expect(age.text).toBe('0s');
    // And replaces a tick's text still waiting for the box to come into view.
    t.clockTick(() => t.tick(el(age), '1s'));
    t.tick(el(age), '0s');
    viewChanged?.([{ target: age, isIntersecting: true }]);
    expect(age.text).toBe('0s');
  });
});

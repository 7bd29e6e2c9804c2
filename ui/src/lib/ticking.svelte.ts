// Text that changes every second (ages, countdowns): see `Ticking.svelte`.
//
// Three things keep a tick cheap in WebKitGTK's software rendering (measured on the mission
// screen under Xvfb, CPU of the app and web processes with the page otherwise still):
//
// - each box has a width of its own, measured in a canvas in the element's font with every
//   digit measured as a 0 (the text is set in tabular figures), so a tick that keeps the
//   number of characters keeps the width and relays out the box alone. Measuring reads no
//   geometry and forces no layout;
// - changes reach the screen as one repaint of the rectangle around all of them, so boxes
//   apart show at moments apart: a group of boxes that touch, then the next group GAP_MS
//   later. The clock at the top and the countdown further down changing in one frame cost
//   8–9 % of a core; 300 ms apart, 1.3–1.8 %. Frames one after the other are no better than
//   one frame: the changes of frames that follow closely reach the screen together. The ages
//   of a table's column fill their cells, so they touch and tick in one group;
// - a box out of view does not tick: it takes its latest text when it comes into view. Out
//   of view is not free: the content around the view is painted ahead for scrolling, and an
//   age column below the fold ticking with the rest cost as much as the rest together.

import { flushSync } from 'svelte';

/** Added to the measured width: the canvas knows no font features (`cv11`, `ss01`). */
const SLACK_PX = 2;
/** How far apart, in CSS pixels, two boxes may be and still count as touching. */
export const TOUCH_PX = 1;

let context: OffscreenCanvasRenderingContext2D | null | undefined;
const fonts = new WeakMap<Element, string>();
/** Bumped when web fonts finish loading, so every box is measured again in the real font. */
let fontsLoaded = $state(0);

if (typeof document !== 'undefined' && document.fonts) {
  document.fonts.addEventListener('loadingdone', () => {
    fontsLoaded++;
  });
}

/** Read by every ticking box, so that it is measured again once web fonts have loaded. */
export function fontsVersion(): number {
  return fontsLoaded;
}

/** The canvas context to measure with, or null where there is none (a DOM without canvas). */
function measurer(): OffscreenCanvasRenderingContext2D | null {
  if (context === undefined) {
    context = typeof OffscreenCanvas === 'undefined' ? null : new OffscreenCanvas(1, 1).getContext('2d');
  }
  return context;
}

/** `el`'s font as the canvas `font` property takes it (the `font` shorthand can read empty). */
function fontOf(el: Element): string {
  let font = fonts.get(el);
  if (font === undefined) {
    const s = getComputedStyle(el);
    font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    fonts.set(el, font);
  }
  return font;
}

/**
 * The width in CSS pixels to give a ticking box that shows `text` in `el`'s font, rounded up;
 * the same for every text with the same characters apart from its digits. Null where text
 * cannot be measured: the box then sizes itself as ordinary text does.
 */
export function tickingWidth(el: Element, text: string): number | null {
  const ctx = measurer();
  if (!ctx) return null;
  ctx.font = fontOf(el);
  return Math.ceil(ctx.measureText(text.replace(/[0-9]/g, '0')).width) + SLACK_PX;
}

export interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

const isEmpty = (r: Rect) => r.right <= r.left || r.bottom <= r.top;
const unite = (a: Rect, b: Rect): Rect =>
  isEmpty(a)
    ? b
    : isEmpty(b)
      ? a
      : { left: Math.min(a.left, b.left), top: Math.min(a.top, b.top), right: Math.max(a.right, b.right), bottom: Math.max(a.bottom, b.bottom) };
/** Does `b` touch or overlap `a`? A box not shown (empty) repaints nothing: it goes anywhere. */
const touches = (a: Rect, b: Rect) =>
  isEmpty(a) ||
  isEmpty(b) ||
  (b.left <= a.right + TOUCH_PX && a.left <= b.right + TOUCH_PX && b.top <= a.bottom + TOUCH_PX && a.top <= b.bottom + TOUCH_PX);

/**
 * Splits boxes into the groups shown one at a time: a group starts with the first box left
 * (in document order) and takes every box that touches the rectangle around the group so far
 * (a table column's cells, one after the other). Every group has at least one box.
 */
export function frameGroups<T>(boxes: { item: T; rect: Rect }[]): T[][] {
  const groups: T[][] = [];
  let left = boxes;
  for (let head = left[0]; head !== undefined; head = left[0]) {
    let around: Rect = head.rect;
    const group = [head.item];
    let rest = left.slice(1);
    // A box may touch the group only once a later one joined it: look again until none joins.
    for (let grew = true; grew; ) {
      grew = false;
      const apart: typeof boxes = [];
      for (const box of rest) {
        if (touches(around, box.rect)) {
          around = unite(around, box.rect);
          group.push(box.item);
          grew = true;
        } else {
          apart.push(box);
        }
      }
      rest = apart;
    }
    groups.push(group);
    left = rest;
  }
  return groups;
}

/** How long after one group of boxes shows the next group does (see the top of this file). */
export const GAP_MS = 150;

/** Set while a clock's tick renders: only the texts it changes wait for their moment. */
let fromClock = false;

/**
 * Runs a clock's tick (`update` sets the time that ages and countdowns read) and renders it
 * at once, so that the texts it changes show a group of boxes that touch at a time, and the
 * boxes out of view not at all. Texts that change for any other reason (a new event, a
 * moment picked in the history) show with the rest of the page.
 */
export function clockTick(update: () => void) {
  fromClock = true;
  try {
    update();
    flushSync();
  } finally {
    fromClock = false;
  }
}

interface Next {
  text: string;
  sizing: HTMLElement | undefined;
}

/** Texts waiting for their group's moment, by box. */
const pending = new Map<HTMLElement, Next>();
/** The latest text of each box out of view, shown when the box comes into view. */
const unseen = new Map<HTMLElement, Next>();
/** Boxes the observer last saw out of view. A box not yet observed counts as in view. */
const outOfView = new WeakSet<Element>();
let frameAsked = false;
let gapTimer: ReturnType<typeof setTimeout> | undefined;
let observer: IntersectionObserver | null | undefined;

/**
 * Writes `text` into the box now, and its measured width into `sizing` (the box itself unless
 * given); false where text cannot be measured.
 */
export function show(el: HTMLElement, text: string, sizing: HTMLElement = el): boolean {
  const width = tickingWidth(el, text);
  if (width !== null) sizing.style.width = `${width}px`;
  // Rewrite the text node rather than replace it: a node removed and inserted relays out the
  // box's parents too, which is the repaint the box is there to avoid.
  const node = el.firstChild;
  if (node instanceof Text && node === el.lastChild) {
    if (node.data !== text) node.data = text;
  } else {
    el.textContent = text;
  }
  return width !== null;
}

/** Who tells boxes into and out of view; null where the DOM has no IntersectionObserver. */
function viewObserver(): IntersectionObserver | null {
  if (observer === undefined) {
    observer =
      typeof IntersectionObserver === 'undefined'
        ? null
        : new IntersectionObserver((entries) => {
            for (const entry of entries) {
              const el = entry.target as HTMLElement;
              if (!entry.isIntersecting) {
                outOfView.add(el);
                continue;
              }
              outOfView.delete(el);
              const next = unseen.get(el);
              if (next) {
                unseen.delete(el);
                show(el, next.text, next.sizing);
              }
            }
          });
  }
  return observer;
}

/**
 * Follows whether the ticking box `el` is in view, so that the clock leaves it alone while it
 * is not; returns the function that stops following it (when the box goes).
 */
export function watch(el: HTMLElement): () => void {
  const io = viewObserver();
  io?.observe(el);
  return () => {
    io?.unobserve(el);
    outOfView.delete(el);
    unseen.delete(el);
    pending.delete(el);
  };
}

function nextGroup() {
  frameAsked = false;
  const boxes: { item: HTMLElement; rect: Rect }[] = [];
  for (const el of pending.keys()) {
    if (el.isConnected) boxes.push({ item: el, rect: el.getBoundingClientRect() });
    else pending.delete(el);
  }
  if (boxes.length === 0) return;
  // Read every rectangle before writing any text: no write forces a layout for the next read.
  const [now = []] = frameGroups(boxes);
  for (const el of now) {
    const next = pending.get(el);
    if (next) show(el, next.text, next.sizing);
    pending.delete(el);
  }
  if (pending.size > 0 && gapTimer === undefined) {
    gapTimer = setTimeout(() => {
      gapTimer = undefined;
      askFrame();
    }, GAP_MS);
  }
}

function askFrame() {
  if (frameAsked || gapTimer !== undefined) return;
  frameAsked = true;
  requestAnimationFrame(nextGroup);
}

/**
 * Shows `text` in the ticking box `el`. During a clock's tick: at its group's moment, or,
 * while the box is out of view, once it comes into view. Otherwise, or where text cannot be
 * measured (no canvas: no WebKit repaints to spare either), at once.
 */
export function tick(el: HTMLElement, text: string, sizing?: HTMLElement) {
  if (!fromClock || measurer() === null || typeof requestAnimationFrame === 'undefined') {
    pending.delete(el);
    unseen.delete(el);
    show(el, text, sizing);
    return;
  }
  if (outOfView.has(el)) {
    pending.delete(el);
    unseen.set(el, { text, sizing });
    return;
  }
  unseen.delete(el);
  pending.set(el, { text, sizing });
  askFrame();
}

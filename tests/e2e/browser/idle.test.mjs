// An idle mission screen: a crash-looping pod in back-off and nothing else happening. Ages and
// the retry countdown still tick once a second, but only the texts that changed are written,
// each frame's texts in boxes that touch (WebKitGTK's software rendering repaints far more
// than a frame changed when its changes lie apart), texts out of view not until they come into
// view, and no animation runs forever (with software rendering each frame of an endless pulse
// repaints the window, which costs a laptop's battery all day).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scenario, sharedBrowser } from './harness.mjs';
import { T0, at, missionAnswers, objectives, pullEvents, stuckAtRun, upsert } from './mission-fixtures.mjs';

const suite = sharedBrowser();

/** Whether the element is inside the window and not clipped away by a scrolling box. */
const inView = (locator) =>
  locator.evaluate(
    (el) =>
      new Promise((resolve) => {
        const io = new IntersectionObserver(([entry]) => {
          io.disconnect();
          resolve(entry.isIntersecting);
        });
        io.observe(el);
      }),
  );

/** Opens the crash-loop mission; with `table`, scrolls its events table into view. */
async function openCrashLoop({ table = true } = {}) {
  const app = await suite.open(scenario(missionAnswers()), {
    beforeLoad: (page) => page.clock.install({ time: T0 + 25_000 }),
  });
  const { page } = app;
  await page.locator('[data-mission-id="image-pull-backoff"][data-testid="mission-card"]').click();
  await page.getByTestId('start-mission').click();
  await page.locator('[data-testid="mission-screen"][data-phase="running"]').waitFor();
  await app.push(upsert(stuckAtRun(at(100))), { kind: 'events', events: pullEvents }, objectives());
  await page.getByTestId('retry-countdown').waitFor();
  await page.getByTestId('event-row').first().waitFor();
  if (table) {
    // Waiting for an observer of its own to see the age in view is waiting for the app's
    // observer too: the ages then tick with the clock, which here runs faster than frames.
    const age = page.getByTestId('event-age').first();
    await age.scrollIntoViewIfNeeded();
    assert.equal(await inView(age), true, 'the events table scrolled into view');
  }
  return app;
}

/** Starts counting DOM mutation records, the batches they come in (one per observer call), and
 *  the texts the clock-bound elements show after each batch. */
const observe = (page) =>
  page.evaluate(() => {
    const w = window;
    w.__idle = { records: 0, batches: 0, textBatches: 0, apart: [], where: {}, ages: [], countdowns: [] };
    w.__idleObserver = new MutationObserver((records) => {
      w.__idle.records += records.length;
      w.__idle.batches += 1;
      // The boxes whose text this batch (one frame) changed: they must touch one another,
      // each joining the rectangle around those before it (1 px apart at most: a border).
      const boxes = records
        .filter((r) => r.type !== 'attributes')
        .map((r) => (r.target.nodeType === 1 ? r.target : r.target.parentElement).getBoundingClientRect())
        .filter((b) => b.width > 0 && b.height > 0);
      if (boxes.length > 0) w.__idle.textBatches += 1;
      let around = null;
      for (const b of boxes.sort((x, y) => x.top - y.top)) {
        const touches = !around || (b.left <= around.right + 1 && around.left <= b.right + 1 && b.top <= around.bottom + 1 && around.top <= b.bottom + 1);
        if (!touches) w.__idle.apart.push(`${Math.round(b.left)},${Math.round(b.top)} apart from ${Math.round(around.left)},${Math.round(around.top)}–${Math.round(around.right)},${Math.round(around.bottom)}`);
        around = around
          ? { left: Math.min(around.left, b.left), top: Math.min(around.top, b.top), right: Math.max(around.right, b.right), bottom: Math.max(around.bottom, b.bottom) }
          : { left: b.left, top: b.top, right: b.right, bottom: b.bottom };
      }
      for (const r of records) {
        const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
        const where = el?.closest('[data-testid]')?.getAttribute('data-testid') ?? '?';
        w.__idle.where[where] = (w.__idle.where[where] ?? 0) + 1;
      }
      w.__idle.ages.push(document.querySelector('[data-testid="event-age"]')?.textContent ?? '');
      w.__idle.countdowns.push(document.querySelector('[data-testid="retry-countdown"]')?.getAttribute('data-seconds') ?? '');
    });
    w.__idleObserver.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });

const collected = (page) =>
  page.evaluate(() => {
    window.__idleObserver.disconnect();
    return window.__idle;
  });

test('idle crash loop: ages and the countdown tick once a second, each frame writing texts that touch', async () => {
  const app = await openCrashLoop();
  const { page } = app;
  try {
    // Let the arrival settle (the first render, the announcer, the cluster's clock catching up
    // with the latest event it wrote), then watch 10 seconds.
    await page.clock.runFor(8000);
    const firstAge = await page.getByTestId('event-age').first().innerText();
    await observe(page);
    const SECONDS = 10;
    for (let s = 0; s < SECONDS; s++) await page.clock.runFor(1000);
    // The last tick's groups show up to a few hundred ms after it.
    await page.clock.runFor(500);
    const idle = await collected(page);

    // Ages tick: the first row's age took a new value every second (45s, 46s, … as kubectl
    // prints under two minutes), one second at a time, and the countdown went down by the
    // seconds that passed.
    const ages = [firstAge, ...idle.ages].filter((a, i, all) => i === 0 || a !== all[i - 1]);
    assert.ok(ages.length >= SECONDS + 1 && ages.length <= SECONDS + 2, `the first age showed ${ages.join(', ')}`);
    assert.match(ages.at(-1), /^\d+s$/);
    const steps = ages.slice(1).map((a, i) => Number.parseInt(a, 10) - Number.parseInt(ages[i], 10));
    assert.deepEqual(steps, steps.map(() => 1), `the first age showed ${ages.join(', ')}`);
    const seconds = idle.countdowns.map(Number);
    assert.ok(seconds[0] - seconds.at(-1) >= SECONDS - 1, `the countdown read ${seconds.join(', ')}`);
    const down = seconds.slice(1).map((n, i) => seconds[i] - n).filter((d) => d !== 0);
    assert.deepEqual(down, down.map(() => 1), `the countdown read ${seconds.join(', ')}`);

    // One render a second, shown a frame per group of texts that touch, not a re-render per
    // frame: on this screen the countdown, the latest event's age, the rail's `created … ago`
    // and the events table's Age column (its cells touch: one group) are four groups, so at
    // most four batches of text a second (and one more for the countdown's data-seconds,
    // written with the render). The scrubber's live clock shows the minute: at most one more
    // batch in these seconds, when the minute turns. The watch lasts 10.5 s, so the cluster's
    // second turns up to 11 times in it.
    assert.deepEqual(idle.apart, [], 'every frame writes texts in boxes that touch');
    const GROUPS = 4;
    const TURNS = SECONDS + 1;
    assert.ok(idle.textBatches <= GROUPS * TURNS + 1, `${idle.textBatches} batches of text in ${SECONDS} s (${JSON.stringify(idle.where)})`);
    assert.ok(idle.batches <= (GROUPS + 1) * TURNS + 1, `${idle.batches} batches of DOM writes in ${SECONDS} s (${JSON.stringify(idle.where)})`);
    assert.ok((idle.where['scrubber-time'] ?? 0) <= 1, `the live clock changed more than once in ${SECONDS} s (${JSON.stringify(idle.where)})`);
    const widths = await page.getByTestId('event-age').evaluateAll((cells) => cells.map((c) => c.getBoundingClientRect().width));
    await page.clock.runFor(1000);
    const later = await page.getByTestId('event-age').evaluateAll((cells) => cells.map((c) => c.getBoundingClientRect().width));
    assert.deepEqual(later, widths, 'a tick that keeps the text as long keeps the Age column as wide');

    // And each batch writes only the texts that changed. On this screen the clock shows in: each
    // event row's Age (3 rows), the retry countdown (its text and its data-seconds, 2), the stuck
    // panel's latest event (`x6, 2s ago`, 1), the rail's `created … ago` (1) and the restarts'
    // `(18s ago)` (1): at most 8 records a second, and the scrubber's clock once a minute. A
    // table or a panel rendered again would write every cell, every second.
    const rows = await page.getByTestId('event-row').count();
    const perSecond = rows + 5;
    assert.ok(
      idle.records <= perSecond * TURNS + 1,
      `${idle.records} DOM mutation records in ${SECONDS} s, at most ${perSecond} a second expected (${JSON.stringify(idle.where)})`,
    );
    assert.equal(idle.where['events-table'] ?? 0, 0, 'no write to the events table outside the Age cells');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('idle crash loop: the stuck stage pulses a few times, then nothing animates', async () => {
  const app = await openCrashLoop();
  const { page } = app;
  try {
    const pulse = page.getByTestId('stage-pulse');
    assert.equal(await pulse.count(), 1);
    const timing = await pulse.evaluate((e) => {
      const [a] = e.getAnimations();
      return a ? { name: a.animationName, iterations: a.effect.getTiming().iterations } : null;
    });
    assert.match(timing?.name ?? '', /pulse$/, 'the ring pulses when the pod gets stuck');
    assert.ok(Number.isFinite(timing.iterations) && timing.iterations <= 3, `the pulse runs ${timing.iterations} times`);
    const endless = await page.evaluate(() =>
      document
        .getAnimations()
        .filter((a) => a.playState === 'running' && a.effect?.getTiming().iterations === Infinity)
        .map((a) => a.effect?.target?.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(endless, [], 'no endless animation on an idle mission screen');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('idle crash loop: a hidden window writes nothing, and shows the right ages the moment it is shown again', async () => {
  const app = await openCrashLoop();
  const { page } = app;
  const setHidden = (hidden) =>
    page.evaluate((h) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  try {
    await page.clock.runFor(8000);
    const before = Number.parseInt(await page.getByTestId('event-age').first().innerText(), 10);
    await setHidden(true);
    await page.clock.runFor(1000);
    await observe(page);
    for (let s = 0; s < 10; s++) await page.clock.runFor(1000);
    const hidden = await collected(page);
    assert.equal(hidden.records, 0, `a hidden window wrote ${hidden.records} DOM records (${JSON.stringify(hidden.where)})`);

    // Shown again: the ages catch up at once (no waiting for the next tick: within the
    // moments, 150 ms apart, the screen's groups of ticking texts in view take) and tick on.
    await setHidden(false);
    await page.clock.runFor(500);
    const shown = Number.parseInt(await page.getByTestId('event-age').first().innerText(), 10);
    assert.ok(shown - before >= 11, `the first age read ${before}s before hiding and ${shown}s once shown`);
    await page.clock.runFor(1000);
    const next = Number.parseInt(await page.getByTestId('event-age').first().innerText(), 10);
    assert.equal(next, shown + 1, 'the ages tick again');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('idle crash loop: ticking texts out of view write nothing, and show the right time the moment they come into view', async () => {
  const app = await openCrashLoop({ table: false });
  const { page } = app;
  try {
    // Time moves only when the test moves it: a text that changes while the clock stands
    // still is a text catching up, not a tick.
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
    await page.clock.runFor(2000);
    const age = page.getByTestId('event-age').first();
    assert.equal(await inView(age), false, 'the events table starts below the fold of a 1280×820 window');
    const stale = await age.innerText();
    await observe(page);
    for (let s = 0; s < 10; s++) await page.clock.runFor(1000);
    const idle = await collected(page);
    assert.equal(idle.where['event-age'] ?? 0, 0, `ages out of view were written (${JSON.stringify(idle.where)})`);
    assert.ok((idle.where['retry-countdown'] ?? 0) > 0, `the countdown in view ticked (${JSON.stringify(idle.where)})`);
    assert.equal(await age.innerText(), stale);

    // Scrolled into view, the ages catch up with the clock standing still.
    await age.scrollIntoViewIfNeeded();
    await page.waitForFunction((s) => document.querySelector('[data-testid="event-age"]')?.textContent !== s, stale, { timeout: 5000 });
    const shown = Number.parseInt(await age.innerText(), 10);
    assert.ok(shown > Number.parseInt(stale, 10), `the first age read ${stale} out of view and ${shown}s in view`);
    // And the text they caught up to is the current one: the next tick moves it by one second.
    let next = shown;
    for (let waited = 0; next === shown && waited < 5000; waited += 250) {
      await page.clock.runFor(250);
      next = Number.parseInt(await age.innerText(), 10);
    }
    assert.equal(next, shown + 1, `the first age read ${shown}s once in view, then ${next}s at the next tick`);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

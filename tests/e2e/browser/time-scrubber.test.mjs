// The time scrubber on the mission screen, with the IPC mocked: the test plays a recorded
// session (the pod stuck at pull while the kubelet's Failed event counts up, then the fix: the
// pod created, running and ready, the objectives met, the solve), then drags back through it
// with the keyboard and the slider and checks the rail, the events and the objectives shown are
// the past ones, that Back to live and Escape return to the present, and that the debrief's
// link jumps to the moment the fix landed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scenario, screenshot, sharedBrowser } from './harness.mjs';
import { T0, at, missionAnswers, objectives, pipeline, pullEvents, ready, solved, stuckAtPull, upsert } from './mission-fixtures.mjs';

const suite = sharedBrowser();

const NOW = T0 + 25_000;

async function openMission(options = {}) {
  const app = await suite.open(scenario(missionAnswers()), {
    ...options,
    beforeLoad: (page) => page.clock.install({ time: NOW }),
  });
  const { page } = app;
  await page.locator('[data-mission-id="image-pull-backoff"][data-testid="mission-card"]').click();
  await page.getByTestId('start-mission').click();
  await page.locator('[data-testid="mission-screen"][data-phase="running"]').waitFor();
  return app;
}

/** The kubelet's events with the Failed one seen `count` times. */
const failedTimes = (count) => ({
  kind: 'events',
  events: [...pullEvents.slice(0, 2), { ...pullEvents[2], count, lastSeen: at(2 + count), lastTimestamp: at(2 + count) }],
});

const fixedEvents = {
  kind: 'events',
  events: [
    ...pullEvents,
    { type: 'Normal', reason: 'Pulled', message: 'Successfully pulled image "nginx:1.27"', count: 1, firstSeen: at(100), lastSeen: at(100), lastTimestamp: at(100), from: 'kubelet', object: 'pod/web', container: 'web' },
    { type: 'Normal', reason: 'Started', message: 'Started container web', count: 1, firstSeen: at(110), lastSeen: at(110), lastTimestamp: at(110), from: 'kubelet', object: 'pod/web', container: 'web' },
  ],
};

/**
 * Plays the session: 0 stuck at pull; 1–12 the Failed event x1…x12; 13 objectives; 14 the
 * container being created; 15 the image objective met; 16 the pod ready; 17 both objectives
 * met; 18 solved; 19 the events after the fix. A minute, then half a minute, then ten seconds
 * of cluster time pass between the phases.
 */
async function playSession(app) {
  const { page } = app;
  await app.push(upsert(stuckAtPull(at(40))), ...Array.from({ length: 12 }, (_, i) => failedTimes(i + 1)), objectives());
  await page.getByTestId('pipeline-rail').waitFor();
  await page.clock.runFor(60_000);
  await app.push(upsert(pipeline('created', 'active', { status: 'ContainerCreating' })), objectives('not-met', 'met'));
  await page.clock.runFor(30_000);
  await app.push(upsert(ready()), objectives('met', 'met'), solved());
  await page.getByTestId('debrief').waitFor();
  await page.clock.runFor(10_000);
  await app.push(fixedEvents);
  await page.locator('[data-testid="time-scrubber"][data-length="20"]').waitFor();
}

const scrubber = (page) => page.getByTestId('time-scrubber');
const atIndex = (page, index) => page.locator(`[data-testid="time-scrubber"][data-mode="past"][data-index="${index}"]`).waitFor();
const atLive = (page) => page.locator('[data-testid="time-scrubber"][data-mode="live"]').waitFor();
const stages = (page) =>
  page.locator('[data-testid^="stage-"][data-state]').evaluateAll((els) => els.map((e) => `${e.dataset.testid.slice(6)}=${e.dataset.state}`).join(' '));
const failedAge = (page) => page.locator('[data-testid="event-row"][data-reason="Failed"] [data-testid="event-age"]').innerText();
const eventReasons = (page) => page.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => r.dataset.reason));

test('the scrubber walks back through the session: keyboard, slider, Back to live and Escape', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await playSession(app);
    assert.equal(await scrubber(page).getAttribute('data-mode'), 'live');
    assert.match(await page.getByTestId('scrubber-time').innerText(), /^Live · \d\d:\d\d$/, 'live, the clock shows the minute');
    assert.equal(await page.getByTestId('past-banner').count(), 0, 'no banner while live');
    assert.deepEqual(
      await page.getByTestId('scrubber-tick').evaluateAll((ticks) => ticks.map((t) => `${t.dataset.index}:${t.dataset.kind}`)),
      ['0:stuck', '15:objective', '16:ready', '17:objective', '18:solved'],
      'a tick for the pod stuck, each objective met, the pod ready and the solve',
    );
    assert.equal(await stages(page), 'applied=done scheduled=done pulled=done created=done running=done ready=done');

    // Home: the very first change, the pod stuck at pull, before any event arrived.
    const slider = page.getByTestId('scrubber-slider');
    await slider.focus();
    await page.keyboard.press('Home');
    await atIndex(page, 0);
    assert.equal(await page.getByTestId('past-banner').isVisible(), true);
    assert.match(await page.getByTestId('past-banner').innerText(), /Viewing the past — actions apply to now\./);
    assert.equal(await stages(page), 'applied=done scheduled=done pulled=stuck created=pending running=pending ready=pending');
    assert.equal(await page.getByTestId('reason-badge').innerText(), 'ImagePullBackOff');
    assert.equal(await page.getByTestId('event-row').count(), 0, 'no event had arrived yet');
    assert.equal(await page.getByTestId('events-empty').isVisible(), true);
    assert.match(await page.getByTestId('scrubber-time').innerText(), /^-1m4\ds · \d\d:\d\d:\d\d$/, 'cluster time: offset from now and the clock time');
    assert.match(
      await page.getByTestId('scrubber-announce').innerText(),
      /^Viewing \d\d:\d\d:\d\d, 1 minute ago: pod web stuck at Image pulled: ImagePullBackOff\.$/,
    );
    assert.match(await slider.getAttribute('aria-valuetext'), /^Viewing \d\d:\d\d:\d\d, 1 minute ago: pod web stuck at Image pulled/);
    assert.equal(await page.getByTestId('objective-web-ready').getAttribute('data-status'), 'waiting', 'no evaluation had arrived yet');
    await screenshot(page, '60-scrubber-past');

    // PageUp ten changes forward, Left one back, Right two forward, PageDown ten back.
    await page.keyboard.press('PageUp');
    await atIndex(page, 10);
    assert.match(await failedAge(page), /\(x10 over/, 'the Failed event as it was counted then');
    await page.keyboard.press('ArrowLeft');
    await atIndex(page, 9);
    assert.match(await failedAge(page), /\(x9 over/);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await atIndex(page, 11);
    assert.match(await failedAge(page), /\(x11 over/);
    await page.keyboard.press('PageDown');
    await atIndex(page, 1);
    assert.deepEqual(await eventReasons(page), ['Scheduled', 'Failed', 'Pulling']);

    // End: live again, the fixed pod and the events after the fix.
    await page.keyboard.press('End');
    await atLive(page);
    assert.equal(await page.getByTestId('past-banner').count(), 0);
    assert.equal(await page.getByTestId('rail-ready').isVisible(), true);
    assert.deepEqual(await eventReasons(page), ['Scheduled', 'Pulling', 'Failed', 'Pulled', 'Started']);

    // The slider itself: the container being created, then Back to live.
    await slider.fill('14');
    await atIndex(page, 14);
    assert.equal(await page.getByTestId('pod-marker').getAttribute('data-stage'), 'created');
    assert.equal(await page.getByTestId('pod-status').innerText(), 'ContainerCreating');
    assert.equal(await page.getByTestId('objective-web-image-pulled').getAttribute('data-status'), 'not-met');
    await page.getByTestId('back-to-live').click();
    await atLive(page);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'scrubber-slider', 'focus stays on the scrubber');
    assert.equal(await page.getByTestId('pod-marker').getAttribute('data-stage'), 'ready');
    assert.equal(await page.getByTestId('objective-web-image-pulled').getAttribute('data-status'), 'met');

    // Previous / next moment, and Escape back to live.
    await page.getByTestId('scrubber-prev-moment').click();
    await atIndex(page, 18);
    await page.getByTestId('scrubber-prev-moment').click();
    await atIndex(page, 17);
    assert.match(await page.getByTestId('scrubber-what').innerText(), /objective met: web is Running and Ready/);
    await slider.fill('3');
    await atIndex(page, 3);
    await slider.focus();
    await page.keyboard.press('Escape');
    await atLive(page);
    assert.equal(await page.getByTestId('scrubber-announce').innerText(), 'Showing live.');

    // The editor still acts on now while the past is shown.
    await slider.fill('0');
    await atIndex(page, 0);
    assert.equal(await page.getByTestId('apply-button').isDisabled(), false);
    await page.getByTestId('back-to-live').click();
    await atLive(page);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('the debrief links to the moment the fix landed', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await playSession(app);
    const link = page.getByTestId('see-fix-moment');
    assert.equal(await link.innerText(), 'See the moment the fix landed');
    await link.click();
    await atIndex(page, 18);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'scrubber-slider', 'focus moves to the scrubber');
    assert.match(await page.getByTestId('scrubber-what').innerText(), /mission solved: the fix landed/);
    assert.match(await page.getByTestId('scrubber-time').innerText(), /^-1\ds · \d\d:\d\d:\d\d$/);
    assert.deepEqual(
      await page.getByTestId('scrubber-tick').evaluateAll((ticks) => ticks.filter((t) => t.dataset.here === 'true').map((t) => t.dataset.kind)),
      ['solved'],
      'the solve tick is the one shown',
    );
    // At the solve the pod was ready but the events after it had not arrived.
    assert.equal(await page.getByTestId('rail-ready').isVisible(), true);
    assert.deepEqual(await eventReasons(page), ['Scheduled', 'Failed', 'Pulling']);
    await page.waitForFunction(() => document.querySelector('[data-testid="announcer"]')?.textContent?.includes('the moment the fix landed'));
    // One step back: the objectives update just before the solve.
    await page.keyboard.press('ArrowLeft');
    await atIndex(page, 17);
    await screenshot(page, '61-scrubber-fix-moment');
    await page.keyboard.press('Escape');
    await atLive(page);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('with reduced motion the past banner appears without animation, and nothing on the scrubber animates while idle', async () => {
  const app = await openMission({ media: { reducedMotion: 'reduce' } });
  const { page } = app;
  try {
    await app.push(upsert(stuckAtPull(at(40))), failedTimes(1));
    await page.locator('[data-testid="time-scrubber"][data-length="2"]').waitFor();
    await page.getByTestId('scrubber-slider').fill('0');
    await atIndex(page, 0);
    assert.equal(await page.getByTestId('past-banner').evaluate((e) => getComputedStyle(e).animationName), 'none');
    assert.equal(await page.getByTestId('scrubber-starts').count(), 0, 'nothing dropped yet');
    const running = () =>
      page.getByTestId('time-scrubber').evaluate((el) => el.getAnimations({ subtree: true }).filter((a) => a.playState === 'running').length);
    assert.equal(await running(), 0, 'no animation runs on the scrubber while it waits');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a long session keeps its newest 2,000 changes and says where the history now starts', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await app.push(upsert(stuckAtPull(at(40))));
    await page.getByTestId('pipeline-rail').waitFor();
    await page.clock.runFor(5_000);
    // 2,004 more changes: the Failed event counting up.
    await page.evaluate((events) => {
      for (let i = 1; i <= 2004; i++) {
        window.__KQ_PUSH__({ kind: 'events', events: [...events.slice(0, 2), { ...events[2], count: i }] });
      }
    }, pullEvents);
    await page.locator('[data-testid="time-scrubber"][data-length="2000"]').waitFor();
    assert.match(await page.getByTestId('scrubber-starts').innerText(), /^History starts at \d\d:\d\d:\d\d$/);
    assert.equal(await page.getByTestId('scrubber-tick').count(), 0, 'the stuck moment was among the dropped');
    await page.getByTestId('scrubber-slider').focus();
    await page.keyboard.press('Home');
    await atIndex(page, 0);
    assert.match(await failedAge(page), /\(x5 over/, 'the pod and the first four counts were dropped');
    await page.keyboard.press('Escape');
    await atLive(page);
    assert.match(await failedAge(page), /\(x2004 over/);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

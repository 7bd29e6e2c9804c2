// Around the missions on the map: chapters with the learner's progress, teacher preview, the
// "curriculum complete" moment (once, then a quiet banner), and a solved mission's debrief read
// again in a dialog that Esc closes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loaded, missions, scenario, screenshot, sharedBrowser } from './harness.mjs';

const suite = sharedBrowser();

const solved = (timeToFixSeconds, hintsUsed) => ({
  status: 'solved',
  attempts: 1,
  hintsUsed,
  startedAt: '2026-01-01T10:00:00Z',
  solvedAt: '2026-01-01T10:05:00Z',
  timeToFixSeconds,
});

const progressOf = (records) => ({ version: 1, learner: null, missions: records });

test('each chapter says how many of its missions are solved, with a progress bar', async () => {
  const app = await suite.open(
    scenario({ get_progress: [{ ok: loaded(progressOf({ 'crash-loop-backoff': solved(120, 1) })) }] }),
  );
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="chapter-progress"]')?.textContent === '1 of 1 solved');
    const chapters = await page.getByTestId('chapter').evaluateAll((els) =>
      els.map((el) => ({
        chapter: el.dataset.chapter,
        progress: el.querySelector('[data-testid="chapter-progress"]').textContent,
        now: el.querySelector('[role="progressbar"]').getAttribute('aria-valuenow'),
        max: el.querySelector('[role="progressbar"]').getAttribute('aria-valuemax'),
        name: el.querySelector('[role="progressbar"]').getAttribute('aria-label'),
        missions: [...el.querySelectorAll('[data-testid="mission-card"]')].map((c) => c.dataset.missionId),
      })),
    );
    assert.deepEqual(chapters, [
      { chapter: 'pods', progress: '1 of 1 solved', now: '1', max: '1', name: 'Pods progress', missions: ['crash-loop-backoff'] },
      { chapter: 'images', progress: '0 of 1 solved', now: '0', max: '1', name: 'Images progress', missions: ['image-pull-backoff'] },
      { chapter: 'scheduling', progress: '0 of 1 solved', now: '0', max: '1', name: 'Scheduling progress', missions: ['pending-insufficient-cpu'] },
    ]);
    assert.equal(await page.getByTestId('curriculum-complete').count(), 0, 'two missions are still to do');
    assert.equal(await page.getByTestId('preview-banner').count(), 0, 'preview is off by default');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('teacher preview opens every mission and says so; the setting is a checkbox in Settings', async () => {
  const on = { context: null, allowedRemoteContexts: [], speed: 1, theme: 'system', teacherPreview: true };
  const app = await suite.open(scenario({ get_settings: [{ ok: on }], list_contexts: [{ ok: [] }] }));
  const { page } = app;
  try {
    await page.getByTestId('preview-banner').waitFor();
    assert.match(await page.getByTestId('preview-banner').innerText(), /Preview: every mission is open/);
    assert.deepEqual(
      await page.getByTestId('mission-card').evaluateAll((els) => els.map((e) => e.dataset.state)),
      ['open', 'open', 'open'],
      'nothing is locked in preview',
    );
    await page.getByTestId('mission-card').nth(2).click();
    await page.getByTestId('start-mission').waitFor();
    assert.equal(await page.getByTestId('start-mission').getAttribute('data-mission-id'), missions[2].id);

    await page.getByTestId('open-settings').click();
    const box = page.getByTestId('teacher-preview');
    await box.waitFor();
    assert.equal(await box.isChecked(), true, 'the setting shows as on');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('solving the whole curriculum is celebrated once with the totals, then a quiet banner stays', async () => {
  const all = progressOf({
    'crash-loop-backoff': solved(130, 0),
    'image-pull-backoff': solved(95, 2),
    'pending-insufficient-cpu': solved(60, 1),
  });
  const app = await suite.open(scenario({ get_progress: [{ ok: loaded(all) }] }), { media: { reducedMotion: 'reduce' } });
  const { page } = app;
  try {
    const moment = page.getByTestId('curriculum-complete');
    await moment.waitFor();
    assert.equal(await moment.getAttribute('data-moment'), 'celebration');
    assert.equal(await page.getByTestId('curriculum-totals').innerText(), '3 missions solved in 4m 45s with 3 hints');
    assert.equal(
      await moment.evaluate((el) => getComputedStyle(el).animationName),
      'none',
      'with reduced motion the moment appears without its entrance',
    );
    await screenshot(page, '20-curriculum-complete');

    await page.reload();
    await page.getByTestId('mission-list').waitFor();
    await moment.waitFor();
    assert.equal(await moment.getAttribute('data-moment'), 'banner', 'the celebration is shown once; after that a banner');
    assert.match(await moment.innerText(), /Curriculum complete/);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a solved mission’s debrief opens again from the map in a dialog; Esc closes it and focus returns', async () => {
  const html = '<h2>Your debrief: The pod that keeps falling over</h2><p>You ran <code>kubectl logs greeter --previous</code>.</p>';
  const app = await suite.open(
    scenario({
      get_progress: [{ ok: loaded(progressOf({ 'crash-loop-backoff': solved(120, 1) })) }],
      mission_debrief: [{ ok: { personal: null, personalHtml: null, lessonHtml: html, html } }],
    }),
  );
  const { page } = app;
  try {
    const read = page.locator('[data-testid="read-debrief"][data-mission-id="crash-loop-backoff"]');
    await read.waitFor();
    assert.equal(await page.getByTestId('read-debrief').count(), 1, 'only the solved mission offers its debrief');
    await read.click();
    const dialog = page.getByTestId('debrief-dialog');
    await page.getByTestId('debrief-dialog-body').waitFor();
    assert.match(await page.getByTestId('debrief-dialog-body').innerText(), /kubectl logs greeter --previous/);
    assert.deepEqual(await app.argsOf('mission_debrief'), [{ id: 'crash-loop-backoff' }]);
    assert.equal(await dialog.evaluate((el) => el.open && el.matches(':modal')), true, 'a modal dialog');
    await screenshot(page, '21-read-debrief');

    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('data-testid')),
      'read-debrief',
      'focus goes back to the button that opened the debrief',
    );

    // The details panel offers it too.
    await page.locator('[data-testid="mission-card"][data-mission-id="crash-loop-backoff"]').click();
    await page.getByTestId('details-read-debrief').click();
    await page.getByTestId('debrief-dialog-body').waitFor();
    await page.getByTestId('debrief-dialog-close').click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'details-read-debrief');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a debrief that cannot be read says why in the dialog', async () => {
  const app = await suite.open(
    scenario({
      get_progress: [{ ok: loaded(progressOf({ 'crash-loop-backoff': solved(120, 1) })) }],
      mission_debrief: [{ err: { kind: 'internal', message: 'The debrief of "The pod that keeps falling over" opens once the mission is solved.' } }],
    }),
  );
  const { page } = app;
  try {
    await page.getByTestId('read-debrief').click();
    await page.getByTestId('debrief-dialog-error').waitFor();
    assert.match(await page.getByTestId('debrief-dialog-error').innerText(), /opens once the mission is solved/);
    await page.keyboard.press('Escape');
    await page.getByTestId('debrief-dialog').waitFor({ state: 'detached' });
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('turning teacher preview on in Settings saves it and opens every mission on the map', async () => {
  const off = { context: null, allowedRemoteContexts: [], speed: 1, theme: 'system', teacherPreview: false };
  const app = await suite.open(
    scenario({ get_settings: [{ ok: off }], list_contexts: [{ ok: [] }], save_settings: [{ ok: { ...off, teacherPreview: true } }] }),
  );
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    assert.deepEqual(
      await page.getByTestId('mission-card').evaluateAll((els) => els.map((e) => e.dataset.state)),
      ['open', 'locked', 'locked'],
    );
    await page.getByTestId('open-settings').click();
    const box = page.getByTestId('teacher-preview');
    await box.waitFor();
    assert.equal(await box.isChecked(), false, 'off by default');
    await box.check();
    await page.waitForFunction(() => window.__KQ_CALLS__.some((c) => c.cmd === 'save_settings'));
    assert.deepEqual(await app.argsOf('save_settings'), [{ settings: { ...off, teacherPreview: true } }]);
    await page.getByTestId('settings-back').click();
    await page.getByTestId('preview-banner').waitFor();
    assert.deepEqual(
      await page.getByTestId('mission-card').evaluateAll((els) => els.map((e) => e.dataset.state)),
      ['open', 'open', 'open'],
    );
    await app.assertClean();
  } finally {
    await app.close();
  }
});

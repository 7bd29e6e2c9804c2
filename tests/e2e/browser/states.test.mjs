// Every state the mission map can be in besides "loaded": loading (and too slow), empty,
// failed (lessons and other kinds) with a Retry that recovers, broken lessons listed as
// warnings, and app info that could not be read. None may leave a blank window.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missions, scenario, screenshot, sharedBrowser } from './harness.mjs';

const suite = sharedBrowser();

const loaded = { ok: { missions, problems: [] } };

test('an empty catalog explains where missions live and how a teacher adds them', async () => {
  const app = await suite.open(scenario({ list_missions: [{ ok: { missions: [], problems: [] } }, loaded] }),
  );
  const { page } = app;
  try {
    const empty = page.getByTestId('state-empty');
    await empty.waitFor();
    const text = await empty.innerText();
    assert.match(text, /No missions yet/);
    assert.match(text, /lessons\//);
    assert.match(text, /KUBEQUEST_LESSONS/);
    assert.match(text, /\/usr\/share\/kubequest\/lessons/, 'it shows the folders that were searched');
    assert.equal(await page.getByTestId('mission-list').count(), 0);
    await screenshot(page, '10-empty');

    await empty.getByTestId('retry').click();
    await page.getByTestId('mission-list').waitFor();
    assert.equal(await page.getByTestId('mission-card').count(), missions.length, 'looking again finds the missions');
    assert.equal(await app.calls('list_missions'), 2);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a lessons error shows its message, and Retry recovers the map', async () => {
  const message = 'No lesson folder was found. Reinstall KubeQuest, or set KUBEQUEST_LESSONS to a folder of missions.';
  const app = await suite.open(scenario({ list_missions: [{ err: { kind: 'lessons', message } }, { ...loaded, delayMs: 150 }] }),
  );
  const { page } = app;
  try {
    const error = page.getByTestId('state-error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-kind'), 'lessons');
    assert.match(await error.innerText(), /The lessons could not be read/);
    assert.equal(await page.getByTestId('error-message').innerText(), message);
    await page.waitForFunction(() =>
      document.querySelector('[role="status"]')?.textContent?.startsWith('The lessons could not be read'),
    );
    await screenshot(page, '11-error-lessons');

    await error.getByTestId('retry').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('state-loading').waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.id),
      'map-heading',
      'after Retry, focus moves to the map heading instead of getting lost',
    );
    await page.getByTestId('mission-list').waitFor();
    assert.equal(await page.getByTestId('state-error').count(), 0, 'the error is gone once the retry works');
    assert.equal(await page.getByTestId('mission-card').count(), missions.length);
    assert.equal(await app.calls('list_missions'), 2);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('an error of another kind says something went wrong inside KubeQuest and keeps the message', async () => {
  const app = await suite.open(scenario({ list_missions: [{ err: 'command list_missions not allowed' }] }),
  );
  const { page } = app;
  try {
    const error = page.getByTestId('state-error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-kind'), 'internal');
    assert.match(await error.innerText(), /Something went wrong inside KubeQuest/);
    assert.doesNotMatch(await error.innerText(), /lessons could not be read/);
    assert.equal(await page.getByTestId('error-message').innerText(), 'command list_missions not allowed');
    assert.equal(await error.getByTestId('retry').isVisible(), true);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('lessons that failed to load are listed under the map with file, line and message', async () => {
  const problems = [
    '/usr/share/kubequest/lessons/04-invalid-image-name/mission.md:6: unknown stage `pulling`, expected one of apply, schedule, pull, create, run, ready',
    '/usr/share/kubequest/lessons/05-exit-zero/mission.md:1: missing front matter: the file must start with a line `---`',
  ];
  const app = await suite.open(scenario({ list_missions: [{ ok: { missions, problems } }] }));
  const { page } = app;
  try {
    const section = page.getByTestId('lesson-problems');
    await section.waitFor();
    assert.equal(await page.getByTestId('mission-card').count(), missions.length, 'the good missions still show');
    assert.match(await section.innerText(), /2 lessons could not be loaded/);
    assert.match(await section.innerText(), /Warning/i, 'the warning is said in words');
    const items = await page.getByTestId('lesson-problem').allInnerTexts();
    assert.equal(items.length, 2);
    assert.match(items[0], /04-invalid-image-name\/mission\.md:6/);
    assert.match(items[0], /unknown stage `pulling`/);
    assert.match(items[1], /05-exit-zero\/mission\.md:1/);
    assert.match(items[1], /missing front matter/);
    const below = await page.evaluate(() => {
      const list = document.querySelector('[data-testid="mission-list"]').getBoundingClientRect();
      const warn = document.querySelector('[data-testid="lesson-problems"]').getBoundingClientRect();
      return warn.top >= list.bottom;
    });
    assert.ok(below, 'the warnings sit under the mission map');
    await page.getByTestId('lesson-problems').scrollIntoViewIfNeeded();
    await screenshot(page, '12-lesson-problems');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('loading shows words at once and, after ten seconds, says it is slow and offers to retry', async () => {
  const app = await suite.open(scenario({ list_missions: [{ pending: true }, loaded] }),
    { beforeLoad: (page) => page.clock.install() },
  );
  const { page } = app;
  try {
    const loading = page.getByTestId('state-loading');
    await loading.waitFor();
    assert.match(await loading.innerText(), /Loading missions/);
    assert.equal(await page.getByTestId('state-slow').count(), 0, 'not "slow" straight away');
    await page.clock.runFor(9_000);
    assert.equal(await page.getByTestId('state-slow').count(), 0, 'not "slow" before ten seconds');
    await page.clock.runFor(1_500);
    const slow = page.getByTestId('state-slow');
    await slow.waitFor();
    assert.match(await slow.innerText(), /taking longer than it should/);
    await screenshot(page, '13-loading-slow');

    await slow.getByTestId('retry').click();
    await page.clock.runFor(100);
    await page.getByTestId('mission-list').waitFor();
    assert.equal(await page.getByTestId('mission-card').count(), missions.length);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('if the app cannot describe itself, the title bar says so and the map still works', async () => {
  const app = await suite.open(scenario({ app_info: [{ err: { kind: 'internal', message: 'state not managed' } }] }),
  );
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="app-version"]')?.getAttribute('data-status') === 'failed',
    );
    assert.equal(await page.getByTestId('app-version').innerText(), 'version unknown');
    assert.equal(await page.getByTestId('cluster-status').innerText(), 'Cluster: unknown');
    assert.equal(await page.getByTestId('mission-card').count(), missions.length);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

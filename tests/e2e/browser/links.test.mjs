// Links in lesson Markdown with the IPC mocked: a web link opens in the system browser through
// the Rust side (`open_link`) and never navigates the KubeQuest window; any other link does
// nothing at all.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scenario, sharedBrowser } from './harness.mjs';
import { missionAnswers, session } from './mission-fixtures.mjs';

const suite = sharedBrowser();

const briefingHtml =
  '<h1>The image that never arrives</h1>' +
  '<p>Read <a href="https://kubernetes.io/docs/concepts/containers/images/" data-testid="web-link">the images page</a>, ' +
  'not <a href="file:///etc/passwd" data-testid="file-link">this file</a> or ' +
  '<a href="/elsewhere" data-testid="relative-link">this page</a>.</p>';

test('a web link in a lesson opens in the system browser and the window stays on the mission', async () => {
  const start = session({ detail: { ...session().detail, briefingHtml } });
  const app = await suite.open(scenario(missionAnswers({ start_mission: [{ ok: start }], open_link: [{ ok: null }] })));
  const { page } = app;
  try {
    await page.locator('[data-mission-id="image-pull-backoff"][data-testid="mission-card"]').click();
    await page.getByTestId('start-mission').click();
    await page.locator('[data-testid="mission-screen"][data-phase="running"]').waitFor();
    const before = page.url();

    await page.getByTestId('web-link').click();
    await page.waitForFunction(() => window.__KQ_CALLS__.some((c) => c.cmd === 'open_link'));
    assert.deepEqual(
      await app.argsOf('open_link'),
      [{ url: 'https://kubernetes.io/docs/concepts/containers/images/' }],
      'the web link is handed to the system browser through the Rust side',
    );
    await page.getByTestId('web-link').click({ button: 'middle' });
    await page.getByTestId('file-link').click();
    await page.getByTestId('relative-link').click();
    await page.waitForTimeout(200);
    assert.equal(page.url(), before, 'no link navigates the app window away');
    assert.equal(await page.getByTestId('mission-screen').count(), 1, 'the mission screen is still shown');
    assert.equal((await app.argsOf('open_link')).length, 1, 'only the web link’s click opened anything; other links do nothing');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

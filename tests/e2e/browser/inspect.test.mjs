// "Run in container" on the mission screen, IPC mocked: the panel appears under a running pod
// only, runs a typed or suggested command with the argv split as sh would, shows the kubectl
// exec line, stdout and stderr apart, the exit code, a refusal's message, and the keyboard
// path (Enter runs, Escape closes and gives focus back).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scenario, screenshot, sharedBrowser } from './harness.mjs';
import { T0, at, missionAnswers, objectives, ready, stuckAtPull, upsert } from './mission-fixtures.mjs';

const suite = sharedBrowser();

const container = { name: 'web', init: false, image: 'nginx:1.27', stage: 'ready', state: 'done', reason: null, ready: true, restartCount: 0 };

async function openMission(over = {}) {
  const app = await suite.open(scenario(missionAnswers(over)), {
    beforeLoad: (page) => page.clock.install({ time: T0 + 25_000 }),
  });
  const { page } = app;
  await page.locator('[data-mission-id="image-pull-backoff"][data-testid="mission-card"]').click();
  await page.getByTestId('start-mission').click();
  await page.locator('[data-testid="mission-screen"][data-phase="running"]').waitFor();
  return app;
}

const out = (stdout, stderr, exit) => ({ ok: { stdout, stderr, stdoutTruncated: false, stderrTruncated: false, exit } });

test('a running pod offers Run in container: output, stderr, exit code, the kubectl line and the keyboard path', async () => {
  const app = await openMission({
    run_in_container: [
      { ...out('config.yaml\n', '', { kind: 'code', code: 0 }), delayMs: 300 },
      out('', 'ls: /nope: No such file or directory\n', { kind: 'code', code: 1 }),
      { err: { kind: 'cluster', message: 'pods "web" not found' } },
    ],
  });
  const { page } = app;
  try {
    await app.push(upsert(stuckAtPull(at(40))), objectives());
    await page.getByTestId('pipeline-rail').waitFor();
    assert.equal(await page.getByTestId('inspect-toggle').count(), 0, 'a pod that does not run has nothing to step into');

    await app.push(upsert(ready({ containers: [container] })), objectives('met', 'not-met'));
    const toggle = page.getByTestId('inspect-toggle');
    await toggle.click();
    const panel = page.getByTestId('inspect-panel');
    assert.equal(await panel.getAttribute('data-phase'), 'idle');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'inspect-input', 'the command line has focus');

    // A suggested command runs at once; busy while it runs.
    await page.getByTestId('inspect-suggestion').filter({ hasText: 'ls /etc/config' }).click();
    await page.locator('[data-testid="inspect-panel"][data-phase="running"]').waitFor();
    assert.equal(await page.getByTestId('inspect-run').isDisabled(), true);
    await page.locator('[data-testid="inspect-panel"][data-phase="done"]').waitFor();
    assert.equal(await page.getByTestId('inspect-command').innerText(), 'kubectl exec -n kq-image-pull-backoff web -- ls /etc/config');
    assert.equal(await page.getByTestId('inspect-stdout').innerText(), 'config.yaml\n');
    assert.equal(await page.getByTestId('inspect-exit').getAttribute('data-ok'), 'true');
    assert.match(await page.getByTestId('inspect-exit').innerText(), /exit code 0/);
    await screenshot(page, '40-run-in-container');

    // A typed command with quotes, run with Enter: argv as sh splits it; stderr marked.
    const input = page.getByTestId('inspect-input');
    await input.fill(`ls '/nope'`);
    await input.press('Enter');
    await page.locator('[data-testid="inspect-exit"][data-ok="false"]').waitFor();
    assert.match(await page.getByTestId('inspect-stderr').innerText(), /ls: \/nope: No such file or directory/);
    assert.match(await page.getByTestId('inspect-exit').innerText(), /exit code 1/);

    // A line sh would refuse never reaches the cluster.
    await input.fill(`sh -c 'echo`);
    await input.press('Enter');
    assert.equal(await page.getByTestId('inspect-invalid').innerText(), 'A single quote is not closed.');

    // A refusal shows the server's words.
    await input.fill('cat /etc/hostname');
    await input.press('Enter');
    assert.match(await page.getByTestId('inspect-error').innerText(), /pods "web" not found/);

    assert.deepEqual(await app.argsOf('run_in_container'), [
      { id: 'image-pull-backoff', pod: 'web', container: null, argv: ['ls', '/etc/config'] },
      { id: 'image-pull-backoff', pod: 'web', container: null, argv: ['ls', '/nope'] },
      { id: 'image-pull-backoff', pod: 'web', container: null, argv: ['cat', '/etc/hostname'] },
    ]);

    await input.press('Escape');
    await toggle.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'inspect-toggle', 'focus returns to the button');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

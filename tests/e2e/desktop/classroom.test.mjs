// The classroom in the real KubeQuest window: a teacher serves a class of two from the app
// (this computer only), gets the class folder with 0600 learner kubeconfigs and the join sheet,
// and watches the live class view. One learner, with her own kubeconfig's token, reports that
// she has been on a mission for 15 minutes, as her app does; within the view's 3 s refresh her
// row names the mission and is highlighted as stuck. Stopping the class shuts the class server:
// her join code no longer reaches anything.

import assert from 'node:assert/strict';
import { readFileSync, statSync, existsSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { test } from 'node:test';
import { Key } from 'selenium-webdriver';
import { By, clusterCall, freshHome, launch, screenshot, until } from './harness.mjs';

const testid = (id) => By.css(`[data-testid="${id}"]`);

/** Server, token and CA of a class kubeconfig the app wrote. */
const seatOf = (file) => {
  const text = readFileSync(file, 'utf8');
  const pick = (key) => {
    const m = text.match(new RegExp(`${key}:\\s*"?([^"\\n]+)"?`));
    if (!m) throw new Error(`${file} has no ${key}`);
    return m[1].trim();
  };
  return { server: new URL(pick('server')), token: pick('token'), ca: Buffer.from(pick('certificate-authority-data'), 'base64') };
};

/** POST /kubequest/v1/join with `code`: the status code, or the connection error's code. */
const join = (seat, code) =>
  new Promise((resolve) => {
    const body = JSON.stringify({ code });
    const req = https.request(
      {
        host: seat.server.hostname,
        port: seat.server.port,
        path: '/kubequest/v1/join',
        method: 'POST',
        ca: seat.ca,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', (e) => resolve(e.code));
    req.end(body);
  });

test('a teacher serves a class, sees a learner stuck in the live view, and stopping the class ends the codes', async () => {
  const home = freshHome();
  const folder = path.join(home.home, 'class-year-10');
  const app = await launch(home);
  const { session } = app;
  try {
    await session.wait(until.elementLocated(testid('mission-list')), 30_000, 'the mission map loads');
    await (await session.findElement(testid('open-classroom'))).click();
    await session.wait(until.elementLocated(testid('class-serve-form')), 10_000);

    const loopback = await session.findElement(testid('class-listen-127.0.0.1'));
    assert.equal(await loopback.isSelected(), true, 'this computer only, unless the teacher asks');
    await (await session.findElement(testid('class-roster'))).sendKeys('ada', Key.ENTER, 'grace', Key.ENTER);
    const name = await session.findElement(testid('class-name'));
    await name.clear();
    await name.sendKeys('year-10');
    const out = await session.findElement(testid('class-out'));
    await out.clear();
    await out.sendKeys(folder);
    await (await session.findElement(testid('class-start'))).click();

    const serving = await session.wait(until.elementLocated(testid('class-serving')), 90_000, 'the class is served');
    const server = await (await session.findElement(testid('class-server'))).getText();
    assert.match(server, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(await serving.getText(), /Class year-10 is open for 2 learners/);
    for (const learner of ['ada', 'grace']) {
      const mode = statSync(path.join(folder, `${learner}.kubeconfig`)).mode & 0o777;
      assert.equal(mode, 0o600, `${learner}'s kubeconfig is readable by its owner only`);
    }
    assert.ok(existsSync(path.join(folder, 'join-sheet.html')), 'the printable join sheet is in the folder');
    const sheet = readFileSync(path.join(folder, 'join-sheet.md'), 'utf8');
    const code = sheet.split('\n').find((l) => l.startsWith('| ada |')).split('`')[1];

    // Both learners listed, neither on a mission yet.
    await session.wait(async () => (await session.findElements(testid('class-row'))).length === 2, 15_000, 'the live view lists the class');

    // Ada's app reports her mission with her own token.
    const ada = seatOf(path.join(folder, 'ada.kubeconfig'));
    assert.equal(ada.server.origin, server, 'her kubeconfig names the class server');
    const since = new Date(Date.now() - 15 * 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    await clusterCall(
      ada,
      'PATCH',
      '/api/v1/namespaces/kq-classroom/configmaps/progress-ada',
      { data: { current: 'crash-loop-backoff', currentSince: since, updatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } },
      'application/merge-patch+json',
    );
    await session.wait(
      async () => (await session.findElements(By.css('[data-testid="class-row"][data-learner="ada"][data-stuck="true"]'))).length === 1,
      15_000,
      'ada, 15 minutes on an unsolved mission, is highlighted as stuck after the next refresh',
    );
    const row = await session.findElement(By.css('[data-testid="class-row"][data-learner="ada"]'));
    assert.match(await row.getText(), /The pod that keeps falling over/);
    assert.match(await row.getText(), /15 min/);
    assert.match(await (await session.findElement(testid('class-updated'))).getText(), /^updated \d+ s ago$/);
    await screenshot(session, 'classroom-live');

    assert.equal(await join(ada, code), 200, 'the code works while the class runs');
    await (await session.findElement(testid('class-stop'))).click();
    await session.wait(until.elementLocated(By.css('[data-testid="confirm-dialog"][data-open="true"]')), 5_000);
    await (await session.findElement(testid('confirm-accept'))).click();
    await session.wait(until.elementLocated(By.css('[data-testid="class-screen"][data-mode="choose"]')), 15_000, 'the class ends');
    const after = await join(ada, code);
    assert.notEqual(after, 200, 'the code no longer fetches a kubeconfig once the class is stopped');
  } finally {
    await app.quit();
  }
});

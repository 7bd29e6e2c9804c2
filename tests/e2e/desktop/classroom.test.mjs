// The classroom in the real KubeQuest window.
//
// Teacher: serves a class of two from the app (this computer only), gets the class folder with
// 0600 learner kubeconfigs and the join sheet, and watches the live class view. One learner,
// with her own kubeconfig's token, reports that she has been on a mission for 15 minutes, as
// her app does; within the view's 3 s refresh her row names the mission and is highlighted as
// stuck. Stopping the class shuts the class server: her join code no longer reaches anything.
//
// Learner: joins a class `kq classroom serve` runs with the code from the sheet; the header
// names the class, the mission plays in her own namespace on the class server, and when the
// class server goes away mid-mission the app falls back to its own cluster and says so.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { test } from 'node:test';
import { Key } from 'selenium-webdriver';
import { By, clusterCall, freshHome, launch, screenshot, startMission, until } from './harness.mjs';

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

/** `kq classroom serve` for `names` into `out`; resolves with the process and its server URL. */
const serveWithKq = (names, out) =>
  new Promise((resolve, reject) => {
    const kq = path.join(path.dirname(process.env.KQ_APP_BINARY), 'kq');
    const roster = `${out}.txt`;
    writeFileSync(roster, names);
    const child = spawn(kq, ['classroom', 'serve', '--learners', roster, '--out', out, '--class', 'monday', '--hours', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    const timer = setTimeout(() => reject(new Error(`kq classroom serve never got ready:\n${text}`)), 120_000);
    const read = (chunk) => {
      text += chunk.toString();
      const ready = text.match(/^ready: (https:\/\/\S+)/m);
      if (ready) {
        clearTimeout(timer);
        resolve({ child, server: ready[1] });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', (c) => (text += c.toString()));
    child.once('exit', (code) => reject(new Error(`kq classroom serve exited (${code}):\n${text}`)));
  });

test('a learner joins with a code, plays in her own namespace, and falls back to her own cluster when the class server goes', async () => {
  const home = freshHome();
  // Two tries (about 2.4 s) instead of seven (about 80 s) before the app falls back.
  home.env.KUBEQUEST_CLASS_RECONNECT_TRIES = '2';
  const out = path.join(home.home, 'monday');
  const { child, server } = await serveWithKq('ada\ngrace\n', out);
  const app = await launch(home);
  const { session } = app;
  try {
    const sheet = readFileSync(path.join(out, 'join-sheet.md'), 'utf8');
    const code = sheet.split('\n').find((l) => l.startsWith('| ada |')).split('`')[1];
    await session.wait(until.elementLocated(testid('mission-list')), 30_000, 'the mission map loads');
    await (await session.findElement(testid('open-classroom'))).click();
    await (await session.wait(until.elementLocated(testid('class-tab-join')), 10_000)).click();
    await (await session.findElement(testid('class-join-server'))).sendKeys(server.replace('https://', ''));
    await (await session.findElement(testid('class-join-code'))).sendKeys(code.toLowerCase().replace('-', ''));
    await (await session.findElement(testid('class-join-submit'))).click();

    const label = await session.wait(until.elementLocated(testid('class-banner-label')), 30_000, 'the header names the class');
    assert.equal(await label.getText(), 'Class monday · ada');
    const kept = path.join(home.env.XDG_DATA_HOME, 'dev.kubequest.desktop', 'class.kubeconfig');
    assert.equal(statSync(kept).mode & 0o777, 0o600, 'the joined kubeconfig is kept for a restart, private');
    assert.match(await (await session.findElement(testid('cluster-status'))).getText(), /kq-class-monday-ada/);

    const screen = await startMission(session, 'crash-loop-backoff');
    assert.match(await screen.getText(), /kq-ada-crash-loop-backoff/, 'the briefing names her own namespace');
    await screenshot(session, 'classroom-learner');

    // The class server goes away mid-mission: after the reconnects the app falls back.
    child.kill('SIGTERM');
    const banner = await session.wait(
      until.elementLocated(By.css('[data-testid="class-banner"][data-fallback="true"]')),
      60_000,
      'the app falls back to its own cluster once the reconnects give up',
    );
    assert.match(await banner.getText(), /The class server stopped answering; you’re on your own cluster now\. Your progress is saved on this computer\./);
    assert.match(await (await session.findElement(testid('cluster-status'))).getText(), /kubequest/);
    // The class mission cannot go on: the map is back, with no "connection lost" panel.
    await session.wait(until.elementLocated(testid('mission-list')), 10_000, 'the mission map is back');
    assert.equal((await session.findElements(testid('mission-screen'))).length, 0, 'the class mission screen is gone');
    await screenshot(session, 'classroom-fallback');
  } finally {
    child.kill('SIGKILL');
    await app.quit();
  }
});

// The classroom with the IPC mocked: the teacher's live class view from a fixture ClassView
// (sorting by the headers, the stuck highlight and its threshold, the per-mission summary and
// charts, export, the refresh), the serve form (roster errors beside their lines, a network
// address only after the warning, progress), and the learner's side (the join form's checks,
// the class in the header, leaving, and the fall-back banner when the class server stops).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loaded, scenario, screenshot, sharedBrowser } from './harness.mjs';
import { at, missionAnswers } from './mission-fixtures.mjs';

const suite = sharedBrowser();

const READ_AT = '2026-12-07T09:30:00Z';
const NOW = Date.parse(READ_AT) + 2000;

const row = (learner, over = {}) => ({
  learner,
  mission: 'crash-loop-backoff',
  missionTitle: 'The pod that keeps falling over',
  stage: 'run',
  reason: 'CrashLoopBackOff',
  secondsOnMission: 120,
  hints: 0,
  solved: 0,
  reportedAt: READ_AT,
  solvedCurrent: false,
  ...over,
});

/** A class of five: two stuck past 10 minutes (grace 15 min, linus 31 min), one not started. */
export const classView = (over = {}) => ({
  class: 'year-10',
  endsAt: '2026-12-07T17:00:00Z',
  readAt: READ_AT,
  learners: [
    row('grace', { mission: 'image-pull-backoff', missionTitle: 'The image that never arrives', stage: 'pull', reason: 'ImagePullBackOff', secondsOnMission: 900, hints: 2, solved: 3 }),
    row('alan', { mission: null, missionTitle: null, stage: null, reason: null, secondsOnMission: null }),
    row('ada', { mission: 'pending-insufficient-cpu', missionTitle: 'The pod with nowhere to go', stage: 'schedule', reason: 'Unschedulable', secondsOnMission: 60, hints: 1, solved: 5 }),
    row('linus', { secondsOnMission: 1860, hints: 3, solved: 1 }),
    row('barbara', { secondsOnMission: 2400, solvedCurrent: true, stage: 'ready', reason: null, solved: 2 }),
  ],
  missions: [
    { mission: 'crash-loop-backoff', title: 'The pod that keeps falling over', started: 5, solved: 4, medianSecondsToFix: 420, hints: 5 },
    { mission: 'image-pull-backoff', title: 'The image that never arrives', started: 3, solved: 2, medianSecondsToFix: 840, hints: 4 },
    { mission: 'pending-insufficient-cpu', title: 'The pod with nowhere to go', started: 1, solved: 0, medianSecondsToFix: null, hints: 1 },
  ],
  problems: [],
  ...over,
});

const serving = {
  class: 'year-10',
  server: 'https://127.0.0.1:40123',
  folder: '/home/teacher/KubeQuest/class-2026-12-07',
  sheet: '/home/teacher/KubeQuest/class-2026-12-07/join-sheet.html',
  learners: ['ada', 'alan', 'barbara', 'grace', 'linus'],
  endsAt: '2026-12-07T17:00:00Z',
  leftOut: [['drain-blocked-by-pdb', 'it drains a node every learner shares']],
};

const none = { serving: null, joined: null, watching: null };
const learnerOf = (page) => page.locator('[data-testid="class-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.learner));

async function openClassroom(app) {
  await app.page.getByTestId('mission-list').waitFor();
  await app.page.getByTestId('open-classroom').click();
  await app.page.getByTestId('class-screen').waitFor();
}

test('the live class view sorts by its headers, highlights learners stuck past the chosen minutes, and exports', async () => {
  const app = await suite.open(
    scenario({
      classroom_state: [{ ok: { ...none, serving } }],
      classroom_view: [{ ok: classView() }],
      classroom_export: [{ ok: '/home/teacher/class-year-10.csv' }, { err: { kind: 'internal', message: 'Cannot write /mnt/usb/class.md: Read-only file system. Choose a folder you can write to.' } }],
    }),
    { beforeLoad: (page) => page.clock.install({ time: NOW }) },
  );
  const { page } = app;
  try {
    // Reachable with the keyboard from the map's header.
    await page.getByTestId('mission-list').waitFor();
    await page.getByTestId('open-classroom').focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="class-live"][data-class="year-10"]').waitFor();
    await page.getByTestId('class-row').first().waitFor();
    assert.equal(await page.getByTestId('class-server').innerText(), 'https://127.0.0.1:40123');
    assert.match(await page.getByTestId('class-sheet').innerText(), /join-sheet\.html$/);
    // Read at 09:30:00; the page's clock started 2 s later and runs on.
    assert.match(await page.getByTestId('class-updated').innerText(), /^updated [2-5] s ago$/);

    // Longest on their mission first; alan, who has not started, last.
    assert.deepEqual(await learnerOf(page), ['barbara', 'linus', 'grace', 'ada', 'alan']);
    const stuck = await page.locator('[data-testid="class-row"][data-stuck="true"]').evaluateAll((rows) => rows.map((r) => r.dataset.learner));
    assert.deepEqual(stuck.sort(), ['grace', 'linus'], 'more than 10 minutes on an unsolved mission; barbara solved hers');
    assert.equal(await page.getByTestId('class-caption').innerText(), '5 learners, 2 stuck for more than 10 min.');
    const stuckBg = await page.locator('[data-learner="linus"]').evaluate((r) => getComputedStyle(r).backgroundColor);
    const calmBg = await page.locator('[data-learner="ada"]').evaluate((r) => getComputedStyle(r).backgroundColor);
    assert.notEqual(stuckBg, calmBg, 'a stuck row looks different');
    await screenshot(page, '60-class-live');

    await page.getByTestId('class-stuck-minutes').selectOption('30');
    assert.deepEqual(
      await page.locator('[data-testid="class-row"][data-stuck="true"]').evaluateAll((rows) => rows.map((r) => r.dataset.learner)),
      ['linus'],
    );

    await page.getByTestId('class-sort-learner').click();
    assert.deepEqual(await learnerOf(page), ['ada', 'alan', 'barbara', 'grace', 'linus']);
    assert.equal(await page.locator('th:has([data-testid="class-sort-learner"])').getAttribute('aria-sort'), 'ascending');
    assert.equal(await page.locator('th:has([data-testid="class-sort-time"])').getAttribute('aria-sort'), 'none');
    await page.getByTestId('class-sort-learner').click();
    assert.deepEqual(await learnerOf(page), ['linus', 'grace', 'barbara', 'alan', 'ada']);
    await page.getByTestId('class-sort-stage').click();
    assert.deepEqual(await learnerOf(page), ['ada', 'grace', 'linus', 'barbara', 'alan'], 'stages in pipeline order');
    await page.getByTestId('class-sort-solved').focus();
    await page.keyboard.press('Enter');
    assert.deepEqual(await learnerOf(page), ['ada', 'grace', 'barbara', 'linus', 'alan']);

    const summary = await page.getByTestId('class-mission-row').allInnerTexts();
    assert.deepEqual(
      summary.map((t) => t.split('\t').map((c) => c.trim())),
      [
        ['The pod that keeps falling over', '5', '4', '7 min', '5'],
        ['The image that never arrives', '3', '2', '14 min', '4'],
        ['The pod with nowhere to go', '1', '0', '—', '1'],
      ],
    );
    const shares = await page.locator('[data-chart="chart-time"] [data-testid="class-chart-bar"]').evaluateAll((bars) => bars.map((b) => Number(b.dataset.share)));
    assert.deepEqual(shares, [0.42, 0.84, 0], 'time to fix on a 0–1000 s scale; no bar without a solve');
    assert.deepEqual(await page.locator('[data-chart="chart-hints"] [data-testid="class-chart-value"]').allTextContents(), ['5 hints', '4 hints', '1 hint']);
    assert.equal(await page.locator('[data-chart="chart-time"] svg title').textContent(), 'Median time to fix per mission');

    await page.getByTestId('class-export-csv').click();
    await page.getByTestId('class-export-result').waitFor();
    assert.equal(await page.getByTestId('class-export-result').innerText(), 'Saved to /home/teacher/class-year-10.csv');
    await page.getByTestId('class-export-markdown').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="class-export-result"]')?.textContent?.includes('Read-only'));
    assert.deepEqual(await app.argsOf('classroom_export'), [{ format: 'csv' }, { format: 'markdown' }]);

    // Read again every 3 s, and the time since the last reading moves on in between.
    const reads = await app.calls('classroom_view');
    await page.clock.runFor(3100);
    await page.waitForFunction((n) => window.__KQ_CALLS__.filter((c) => c.cmd === 'classroom_view').length > n, reads);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a class that could not be read says so and keeps the last table', async () => {
  const app = await suite.open(
    scenario({
      classroom_state: [{ ok: { ...none, watching: 'year-10' } }],
      classroom_view: [{ ok: classView({ problems: ['progress-linus could not be read: its progress.json is not JSON'] }) }, { err: { kind: 'cluster', message: 'Unauthorized: the teacher token expired when the class ended.' } }],
    }),
    { beforeLoad: (page) => page.clock.install({ time: NOW }) },
  );
  const { page } = app;
  try {
    await openClassroom(app);
    await page.getByTestId('class-row').first().waitFor();
    assert.match(await page.getByTestId('class-problems').innerText(), /progress-linus could not be read/);
    await page.clock.runFor(3100);
    await page.getByTestId('class-refresh-error').waitFor();
    assert.match(await page.getByTestId('class-refresh-error').innerText(), /teacher token expired.*the table shows the last reading/s);
    assert.equal(await page.getByTestId('class-row').count(), 5);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('serving a class: roster errors beside their lines, a network address only after the warning, then the join sheet', async () => {
  const rosterError = {
    kind: 'lessons',
    message: [
      'names.txt:2: "Ada Lovelace" is not a valid learner name: use lower-case letters, digits and \'-\' (for example ada-lovelace)',
      'names.txt:4: "grace" is already on line 1: list each learner once',
    ].join('\n'),
  };
  const app = await suite.open(
    scenario({
      classroom_state: [{ ok: none }],
      classroom_defaults: [{ ok: { out: '/home/teacher/KubeQuest/class-2026-12-07', addresses: ['192.168.1.20'] } }],
      classroom_serve: [{ err: rosterError }, { ok: { ...serving, server: 'https://192.168.1.20:40123' }, delayMs: 400 }],
      classroom_view: [{ ok: classView() }],
    }),
  );
  const { page } = app;
  try {
    await openClassroom(app);
    assert.equal(await page.getByTestId('class-out').inputValue(), '/home/teacher/KubeQuest/class-2026-12-07');
    assert.equal(await page.getByTestId('class-listen-127.0.0.1').isChecked(), true, 'this computer only, unless the teacher asks');

    // Nothing to serve yet: the form says so and sends nothing.
    await page.getByTestId('class-start').click();
    assert.equal(await app.calls('classroom_serve'), 0);

    await page.getByTestId('class-roster').fill('grace\nAda Lovelace\n# back row\ngrace\n');
    assert.match(await page.getByTestId('class-roster-count').innerText(), /^3 learners\./);
    await page.getByTestId('class-start').click();
    await page.getByTestId('class-roster-problems').waitFor();
    const lines = await page.getByTestId('class-roster-problem').evaluateAll((items) => items.map((i) => [i.dataset.line, i.textContent.trim()]));
    assert.deepEqual(lines, [
      ['2', 'Line 2: "Ada Lovelace" is not a valid learner name: use lower-case letters, digits and \'-\' (for example ada-lovelace)'],
      ['4', 'Line 4: "grace" is already on line 1: list each learner once'],
    ]);
    assert.equal(await page.getByTestId('class-roster').getAttribute('aria-invalid'), 'true');

    // A network address: the warning first; Cancel keeps the class on this computer.
    await page.getByTestId('class-listen-192.168.1.20').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="confirm-dialog"]')?.open === true);
    assert.match(await page.getByTestId('class-network-warning').innerText(), /^Learners on your network will be able to reach this computer’s class server at 192\.168\.1\.20\./);
    await screenshot(page, '61-class-network-warning');
    await page.getByTestId('confirm-cancel').click();
    assert.equal(await page.getByTestId('class-listen-127.0.0.1').isChecked(), true);
    assert.equal(await page.getByTestId('class-listen-192.168.1.20').isChecked(), false);
    await page.getByTestId('class-listen-192.168.1.20').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="confirm-dialog"]')?.open === true);
    await page.getByTestId('confirm-accept').click();
    assert.equal(await page.getByTestId('class-listen-192.168.1.20').isChecked(), true);

    await page.getByTestId('class-roster').fill('grace\nada\nlinus\n');
    await page.getByTestId('class-name').fill('year-10');
    await page.getByTestId('class-hours').fill('2');
    await page.getByTestId('class-start').click();
    await page.waitForFunction(() => window.__KQ_CALLS__.filter((c) => c.cmd === 'classroom_serve').length === 2);
    await app.push('Created namespace kq-classroom', 'Wrote 3 learner kubeconfigs and join-sheet.html');
    await page.getByTestId('class-progress').waitFor();
    assert.deepEqual(await page.locator('[data-testid="class-progress"] li').allInnerTexts(), ['Created namespace kq-classroom', 'Wrote 3 learner kubeconfigs and join-sheet.html']);

    await page.getByTestId('class-serving').waitFor();
    const sent = (await app.argsOf('classroom_serve'))[1];
    assert.deepEqual(sent.request, {
      roster: 'grace\nada\nlinus\n',
      rosterFile: 'names.txt',
      class: 'year-10',
      hours: 2,
      out: '/home/teacher/KubeQuest/class-2026-12-07',
      listen: '192.168.1.20',
    });
    assert.equal(await page.getByTestId('class-server').innerText(), 'https://192.168.1.20:40123');
    assert.match(await page.getByTestId('class-left-out').innerText(), /1 mission is not in this class/);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('joining with a code: the form checks the code and address first, then the header names the class', async () => {
  const joined = { class: 'year-10', learner: 'ada', server: 'https://192.168.1.20:40123', fallback: false };
  const app = await suite.open(
    scenario({
      classroom_state: [{ ok: none }],
      classroom_join_code: [
        { err: { kind: 'cluster', message: 'join code not recognised or expired; ask your teacher for your code' } },
        { ok: joined },
      ],
      classroom_leave: [{ ok: null }],
    }),
  );
  const { page } = app;
  try {
    await openClassroom(app);
    await page.getByTestId('class-tab-join').click();
    await page.getByTestId('class-join-submit').click();
    assert.match(await page.getByTestId('class-join-server-error').innerText(), /Enter the server address/);
    assert.match(await page.getByTestId('class-join-code-error').innerText(), /Enter the join code/);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'class-join-server', 'focus goes to the first field to fix');

    await page.getByTestId('class-join-server').fill('http://192.168.1.20:40123');
    await page.getByTestId('class-join-code').fill('abcd-efgo');
    await page.getByTestId('class-join-submit').click();
    assert.match(await page.getByTestId('class-join-server-error').innerText(), /HTTPS/);
    assert.equal(await page.getByTestId('class-join-code-error').innerText(), 'Join codes have no letter O: did you mean 0 (zero)?');
    assert.equal(await app.calls('classroom_join_code'), 0, 'nothing is sent until both are right');
    await screenshot(page, '62-class-join-errors');

    await page.getByTestId('class-join-server').fill('192.168.1.20:40123');
    await page.getByTestId('class-join-code').fill('abcd efgh');
    await page.getByTestId('class-join-submit').click();
    await page.getByTestId('class-join-error').waitFor();
    assert.match(await page.getByTestId('class-join-error').innerText(), /join code not recognised or expired/);

    const listsBefore = await app.calls('list_missions');
    await page.getByTestId('class-join-submit').click();
    await page.getByTestId('class-banner-label').waitFor();
    assert.equal(await page.getByTestId('class-banner-label').innerText(), 'Class year-10 · ada');
    assert.deepEqual(await app.argsOf('classroom_join_code'), [
      { server: 'https://192.168.1.20:40123', code: 'ABCD-EFGH' },
      { server: 'https://192.168.1.20:40123', code: 'ABCD-EFGH' },
    ]);
    await page.getByTestId('mission-list').waitFor();
    assert.ok((await app.calls('list_missions')) > listsBefore, 'the class’s missions are read again');

    await page.getByTestId('class-banner-leave').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid="class-banner"]'));
    assert.equal(await app.calls('classroom_leave'), 1);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('when the class server stops answering mid-mission, the app falls back to its own cluster, says so, and can try again', async () => {
  const joined = { class: 'year-10', learner: 'ada', server: 'https://192.168.1.20:40123', fallback: false };
  const app = await suite.open(
    scenario(
      missionAnswers({
        classroom_state: [{ ok: { ...none, joined } }],
        classroom_fall_back: [{ ok: { ...joined, fallback: true } }],
        classroom_retry: [
          { err: { kind: 'cluster', message: 'The class server at https://192.168.1.20:40123 still does not answer. Try again when your teacher says the class is back.' } },
          { ok: joined },
        ],
        get_progress: [{ ok: loaded({ version: 1, learner: null, missions: { 'crash-loop-backoff': { status: 'solved', attempts: 1, hintsUsed: 0, startedAt: at(-900), solvedAt: at(-700), timeToFixSeconds: 200 } } }) }],
      }),
    ),
  );
  const { page } = app;
  try {
    await page.getByTestId('class-banner-label').waitFor();
    await page.locator('[data-mission-id="image-pull-backoff"][data-testid="mission-card"]').click();
    await page.getByTestId('start-mission').click();
    await page.locator('[data-testid="mission-screen"][data-phase="running"]').waitFor();
    assert.equal(await app.calls('classroom_fall_back'), 0, 'reconnecting is not giving up');
    await app.push({ kind: 'connection', state: { state: 'reconnecting', attempt: 1, message: 'connection refused', retryAt: at(40) } });
    assert.equal(await app.calls('classroom_fall_back'), 0);
    await app.push({ kind: 'connection', state: { state: 'lost', failure: { kind: 'unreachable', message: 'dial tcp 192.168.1.20:40123: connect: connection refused' } } });
    await page.locator('[data-testid="class-banner"][data-fallback="true"]').waitFor();
    assert.equal(
      await page.getByTestId('class-fallback').innerText(),
      'The class server stopped answering; you’re on your own cluster now. Your progress is saved on this computer.',
    );
    assert.equal(await app.calls('classroom_fall_back'), 1);
    await screenshot(page, '63-class-fallback');

    await page.getByTestId('class-retry').click();
    await page.getByTestId('class-retry-error').waitFor();
    assert.match(await page.getByTestId('class-retry-error').innerText(), /still does not answer/);
    await page.getByTestId('class-retry').click();
    await page.locator('[data-testid="class-banner"][data-fallback="false"]').waitFor();
    assert.equal(await page.getByTestId('class-banner-label').innerText(), 'Class year-10 · ada');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a class whose server is gone when the app starts again plays on the app’s own cluster and says so', async () => {
  const joined = { class: 'year-10', learner: 'ada', server: 'https://192.168.1.20:40123', fallback: false };
  // Before the missions are read the app still counts on the class; reading them found the
  // class server gone.
  const app = await suite.open(scenario({ classroom_state: [{ ok: { ...none, joined } }, { ok: { ...none, joined: { ...joined, fallback: true } } }] }));
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    await page.locator('[data-testid="class-banner"][data-fallback="true"]').waitFor();
    assert.match(await page.getByTestId('class-fallback').innerText(), /^The class server stopped answering; you’re on your own cluster now\./);
    assert.equal(await app.calls('classroom_fall_back'), 0, 'the app fell back by itself');
    await app.assertClean();
  } finally {
    await app.close();
  }
});
